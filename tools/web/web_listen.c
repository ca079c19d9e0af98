#include "web_listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

static int
check_rater(const char *rater, web_reply *r)
{
	size_t		n = rater ? strlen(rater) : 0;

	if (n == 0 || n > WEB_MAX_RATER)
		return web_reply_error(r, 400, "the rater's name must have 1 to %d bytes", WEB_MAX_RATER);
	for (const unsigned char *p = (const unsigned char *) rater; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return web_reply_error(r, 400, "the rater's name has a control character");
	return 0;
}

int
web_listen_resume(const web_app *a, PGconn *conn, const char *rater, web_reply *r)
{
	const char *values[3] = {rater, a->cat.table_text, a->cat.inst_array};
	PGresult   *res;
	json_object *o;

	if (check_rater(rater, r) != 0)
		return r->status;
	res = web_exec(conn, a->sql.listen_resume, 3, values, 0, 0, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return web_reply_db_error(r, conn, res, "listening test");
	o = json_object_new_object();
	json_object_object_add(o, "pos", json_object_new_int(atoi(PQgetvalue(res, 0, 0))));
	json_object_object_add(o, "total", json_object_new_int(atoi(PQgetvalue(res, 0, 1))));
	json_object_object_add(o, "rated", json_object_new_int(atoi(PQgetvalue(res, 0, 2))));
	PQclear(res);
	return web_reply_json(r, 200, o);
}

static json_object *
side(const web_app *a, const char *key, int audio)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "key", json_object_new_string(key));
	json_object_object_add(o, "audio", json_object_new_string(a->cat.audio[audio].name));
	return o;
}

int
web_listen_pair(const web_app *a, PGconn *conn, const char *rater, const char *pos, web_reply *r)
{
	const char *values[4] = {rater, a->cat.table_text, a->cat.inst_array, pos};
	char	   *end;
	long		p = pos ? strtol(pos, &end, 10) : -1;
	PGresult   *res;
	json_object *o;
	int			inst;

	if (check_rater(rater, r) != 0)
		return r->status;
	if (!pos || !*pos || *end || p < 0 || p > 1000000000)
		return web_reply_error(r, 400, "pos must be a position from 0");
	res = web_exec(conn, a->sql.listen_pair, 4, values, 0, 0, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return web_reply_db_error(r, conn, res, "listening test");
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		return web_reply_error(r, 404, "no pair at position %ld", p);
	}
	inst = web_catalog_instrument(&a->cat, PQgetvalue(res, 0, 1));
	o = json_object_new_object();
	json_object_object_add(o, "pair", json_object_new_int(atoi(PQgetvalue(res, 0, 0))));
	json_object_object_add(o, "instrument", json_object_new_string(PQgetvalue(res, 0, 1)));
	json_object_object_add(o, "a", side(a, PQgetvalue(res, 0, 2), a->cat.inst[inst].audio));
	json_object_object_add(o, "b", side(a, PQgetvalue(res, 0, 3), a->cat.inst[inst].audio));
	json_object_object_add(o, "rating", PQgetisnull(res, 0, 4) ? NULL :
						   json_object_new_int(atoi(PQgetvalue(res, 0, 4))));
	json_object_object_add(o, "pos", json_object_new_int((int) p));
	json_object_object_add(o, "total", json_object_new_int(atoi(PQgetvalue(res, 0, 5))));
	PQclear(res);
	return web_reply_json(r, 200, o);
}

/* Runs one command; 0, or the reply's status. */
static int
command(PGconn *conn, const char *sql, web_reply *r)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return web_reply_db_error(r, conn, res, "rating");
	PQclear(res);
	return 0;
}

int
web_listen_rate(const web_app *a, PGconn *conn, const char *body, size_t len, web_reply *r)
{
	json_tokener *tok;
	json_object *o,
			   *pair,
			   *rater,
			   *rating;
	char		pair_s[16],
				rating_s[16];
	const char *values[5] = {pair_s, NULL, rating_s, a->cat.table_text, a->cat.inst_array};
	PGresult   *res;
	int			done;

	if (!a->ratings)
		return web_reply_error(r, 403, "this server does not store ratings (start it with --ratings)");
	if (!(tok = json_tokener_new()))
		return web_reply_error(r, 500, "out of memory");
	o = json_tokener_parse_ex(tok, body ? body : "", (int) len);
	if (o && tok->char_offset != (int) len)
		json_object_put(o), o = NULL;	/* trailing bytes */
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object) ||
		!json_object_object_get_ex(o, "pair", &pair) || !json_object_is_type(pair, json_type_int) ||
		!json_object_object_get_ex(o, "rater", &rater) || !json_object_is_type(rater, json_type_string) ||
		!json_object_object_get_ex(o, "rating", &rating) || !json_object_is_type(rating, json_type_int))
	{
		json_object_put(o);
		return web_reply_error(r, 400, "the body must be {\"pair\": id, \"rater\": name, \"rating\": 1..5}");
	}
	snprintf(pair_s, sizeof(pair_s), "%d", json_object_get_int(pair));
	snprintf(rating_s, sizeof(rating_s), "%d", json_object_get_int(rating));
	values[1] = json_object_get_string(rater);
	if (json_object_get_int64(rating) < 1 || json_object_get_int64(rating) > 5)
		done = web_reply_error(r, 400, "a rating is 1 (different) to 5 (alike)");
	else if ((done = check_rater(values[1], r)) == 0 &&
			 (done = command(conn, "BEGIN READ WRITE", r)) == 0)
	{
		/* the session is read-only by default: this one transaction writes */
		res = web_exec(conn, a->sql.listen_rate, 5, values, 0, 0, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			done = web_reply_db_error(r, conn, res, "rating");
		else
		{
			if (strcmp(PQcmdTuples(res), "1") != 0)
				done = web_reply_error(r, 404, "no pair %s in this listening test", pair_s);
			PQclear(res);
		}
		if (done == 0 && (done = command(conn, "COMMIT", r)) == 0)
		{
			json_object *ok = json_object_new_object();

			json_object_object_add(ok, "stored", json_object_new_boolean(1));
			done = web_reply_json(r, 200, ok);
		}
	}
	json_object_put(o);
	return done;
}

int
web_listen_draw(const web_app *a, PGconn *conn, int pairs, int strata, char *err, size_t errlen)
{
	char		p[16],
				s[16];
	const char *values[5] = {p, s, a->cat.table_text, a->cat.inst_array, a->cat.key_name};
	PGresult   *res;
	int			n = -1;

	snprintf(p, sizeof(p), "%d", pairs);
	snprintf(s, sizeof(s), "%d", strata);
	PQclear(PQexec(conn, "BEGIN READ WRITE"));
	res = web_exec(conn, a->sql.draw, 5, values, 0, 0, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		n = atoi(PQgetvalue(res, 0, 0));
	else
		is_fail(err, errlen, "drawing the listening test's pairs: %s", PQerrorMessage(conn));
	PQclear(res);
	res = PQexec(conn, n >= 0 ? "COMMIT" : "ROLLBACK");
	if (n >= 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
		n = -1, is_fail(err, errlen, "drawing the listening test's pairs: %s", PQerrorMessage(conn));
	PQclear(res);
	return n;
}
