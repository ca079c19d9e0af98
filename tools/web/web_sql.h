/*
 * Every statement instsim-web runs, written once at startup from the
 * catalogue's quoted identifiers.  Request values only ever travel as the
 * parameters listed with each statement; $KEY parameters have the key
 * column's type (web_catalog.key_oid).
 */
#ifndef INSTSIM_WEB_SQL_H
#define INSTSIM_WEB_SQL_H

#include "web_catalog.h"

typedef struct web_sql
{
	char	   *search;			/* $1 text (substring of title or artist), $2 int limit */
	char	   *track;			/* $1 KEY */
	char	   *explain;		/* $1 KEY, $2 KEY: every instrument's distance */
	char	   *neighbours[WEB_MAX_INSTRUMENTS];	/* $1 KEY, $2 int k */
	char	   *moment[WEB_MAX_INSTRUMENTS];	/* $1 KEY, $2 KEY, $3 text model */
	char	   *audio_head[WEB_MAX_AUDIO];	/* $1 KEY: length, first bytes */
	char	   *audio_slice[WEB_MAX_AUDIO]; /* $1 KEY, $2 int from (1-based), $3 int count */
	/* the listening test: $1 text rater, $2 text catalogue, $3 name[] instruments */
	char	   *listen_resume;	/* -> first unrated position, pairs, rated */
	char	   *listen_pair;	/* $4 int position -> the pair there */
	char	   *listen_rate;	/* $1 int pair, $2 text rater, $3 int rating, $4, $5 as $2, $3 */
	char	   *draw;			/* $1 int pairs per instrument, $2 int strata */
} web_sql;

int			web_sql_build(const web_catalog *c, web_sql *s);
void		web_sql_free(web_sql *s);

#endif
