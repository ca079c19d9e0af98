/*
 * The listening test (the paper's Table IV protocol) over the pairs in
 * instsim.listening_pair for this catalogue's instruments.  Every rater
 * hears the same pairs, each in an order of their own (a hash of rater and
 * pair), so that order effects average out and pairs rated by several
 * raters give the agreement; a rater resumes at their first unrated pair.
 * Ratings are stored only when the tool runs with --ratings.
 */
#ifndef INSTSIM_WEB_LISTEN_H
#define INSTSIM_WEB_LISTEN_H

#include "web_app.h"
#include "web_reply.h"

#define WEB_MAX_RATER 64		/* bytes */
#define WEB_MAX_BODY 1024		/* a rating's JSON body */

/* {pos: first unrated position (= total when done), total, rated} */
int			web_listen_resume(const web_app *a, PGconn *conn, const char *rater, web_reply *r);
/* The pair at the rater's position pos (0-based), with their rating if any. */
int			web_listen_pair(const web_app *a, PGconn *conn, const char *rater, const char *pos,
							web_reply *r);
/* Stores {"pair": id, "rater": name, "rating": 1..5}. */
int			web_listen_rate(const web_app *a, PGconn *conn, const char *body, size_t len, web_reply *r);
/* Adds pairs per instrument (instsim_listening_draw); the number added, or -1 with err. */
int			web_listen_draw(const web_app *a, PGconn *conn, int pairs, int strata, char *err,
							size_t errlen);

#endif
