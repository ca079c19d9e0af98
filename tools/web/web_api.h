/*
 * The catalogue's JSON endpoints: the catalogue's description, search,
 * one track, its neighbours per instrument, the matching moment of a pair
 * and its per-instrument distances ("explain").  Each runs its statements
 * on the session it is given and fills the reply; an unknown track is 404.
 */
#ifndef INSTSIM_WEB_API_H
#define INSTSIM_WEB_API_H

#include "web_app.h"
#include "web_reply.h"

/* Longest search string and key value accepted from a request (bytes). */
#define WEB_MAX_QUERY 200
#define WEB_MAX_KEY 256

int		web_api_info(const web_app *a, web_reply *r);
int		web_api_search(const web_app *a, PGconn *conn, const char *q, web_reply *r);
int		web_api_track(const web_app *a, PGconn *conn, const char *key, web_reply *r);
int		web_api_neighbours(const web_app *a, PGconn *conn, const char *key, const char *inst,
							   web_reply *r);
int		web_api_moment(const web_app *a, PGconn *conn, const char *key_a, const char *key_b,
						   const char *inst, web_reply *r);
int		web_api_explain(const web_app *a, PGconn *conn, const char *key_a, const char *key_b,
							web_reply *r);

#endif
