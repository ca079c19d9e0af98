#include "web_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 8

int
web_reply_json(web_reply *r, int status, json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);

	r->status = status;
	r->type = "application/json";
	r->body = strdup(s ? s : "null");
	r->len = r->body ? strlen(r->body) : 0;
	if (!r->body)
		r->status = 500;
	json_object_put(obj);
	return r->status;
}

int
web_reply_error(web_reply *r, int status, const char *fmt,...)
{
	char		msg[512];
	va_list		ap;
	json_object *o = json_object_new_object();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(msg));
	return web_reply_json(r, status, o);
}

int
web_reply_db_error(web_reply *r, PGconn *conn, PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (state && strncmp(state, "22", 2) == 0)
		web_reply_error(r, 400, "%s: %s", what, primary ? primary : "invalid value");
	else if (state && strcmp(state, "42501") == 0)
		web_reply_error(r, 403, "%s: the database role may not do this (%s)", what,
						primary ? primary : "permission denied");
	else
	{
		fprintf(stderr, "instsim-web: %s: %s", what, PQerrorMessage(conn));
		web_reply_error(r, 500, "%s failed on the server; its log says why", what);
	}
	PQclear(res);
	return r->status;
}

PGresult *
web_exec(PGconn *conn, const char *sql, int n, const char *const *values, int nkeys,
		 unsigned int key_oid, int binary)
{
	Oid			types[MAX_PARAMS] = {0};

	for (int i = 0; i < nkeys && i < MAX_PARAMS; i++)
		types[i] = key_oid;
	return PQexecParams(conn, sql, n, types, values, NULL, NULL, binary);
}
