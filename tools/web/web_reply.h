/*
 * A request's answer before it goes out: status, body and type.  Handlers
 * fill one; the HTTP layer sends it.  Database errors become statuses a
 * client can act on: bad input values (SQLSTATE class 22) 400, missing
 * privileges 403, anything else 500 with the message logged, not sent.
 */
#ifndef INSTSIM_WEB_REPLY_H
#define INSTSIM_WEB_REPLY_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stddef.h>

typedef struct web_reply
{
	int			status;
	char	   *body;			/* malloc'd */
	size_t		len;
	const char *type;
	char	   *content_range;	/* malloc'd, for a 416 */
} web_reply;

/* Sends obj (taking it) with status. */
int		web_reply_json(web_reply *r, int status, json_object *obj);
int		web_reply_error(web_reply *r, int status, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
/* Maps the failed result of what to a status (see above) and clears it. */
int		web_reply_db_error(web_reply *r, PGconn *conn, PGresult *res, const char *what);

/* Runs a statement with text parameters, the first nkeys typed as the key. */
PGresult   *web_exec(PGconn *conn, const char *sql, int n, const char *const *values,
					 int nkeys, unsigned int key_oid, int binary);

#endif
