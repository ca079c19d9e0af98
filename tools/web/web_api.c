#include "web_api.h"

#include <stdlib.h>
#include <string.h>

#define SEARCH_LIMIT "50"

static json_object *
text_or_null(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : json_object_new_string(PQgetvalue(res, row, col));
}

/* key, title, artist of columns 0..2 */
static json_object *
track_ref(PGresult *res, int row)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "key", text_or_null(res, row, 0));
	json_object_object_add(o, "title", text_or_null(res, row, 1));
	json_object_object_add(o, "artist", text_or_null(res, row, 2));
	return o;
}

/* Checks a request's key value; 0, or -1 with the reply set. */
static int
check_key(const char *key, const char *what, web_reply *r)
{
	if (!key || !*key)
		web_reply_error(r, 400, "missing parameter %s", what);
	else if (strlen(key) > WEB_MAX_KEY)
		web_reply_error(r, 400, "parameter %s is longer than %d bytes", what, WEB_MAX_KEY);
	else
		return 0;
	return -1;
}

static int
check_instrument(const web_app *a, const char *inst, web_reply *r)
{
	int			i = web_catalog_instrument(&a->cat, inst);

	if (i < 0)
		web_reply_error(r, 404, "no instrument \"%s\" in this catalogue", inst ? inst : "");
	return i;
}

int
web_api_info(const web_app *a, web_reply *r)
{
	json_object *o = json_object_new_object(),
			   *insts = json_object_new_array(),
			   *meta = json_object_new_array();

	for (int i = 0; i < a->cat.n_inst; i++)
	{
		json_object *in = json_object_new_object();

		json_object_object_add(in, "name", json_object_new_string(a->cat.inst[i].name));
		json_object_object_add(in, "audio", json_object_new_string(a->cat.audio[a->cat.inst[i].audio].name));
		json_object_object_add(in, "moments", json_object_new_boolean(a->cat.inst[i].model[0] != '\0'));
		json_object_array_add(insts, in);
	}
	for (int i = 0; i < a->cat.n_meta; i++)
		json_object_array_add(meta, json_object_new_string(a->cat.meta_name[i]));
	json_object_object_add(o, "catalogue", json_object_new_string(a->cat.table_text));
	json_object_object_add(o, "audio", json_object_new_string(a->cat.audio[0].name));
	json_object_object_add(o, "artist", json_object_new_boolean(a->cat.artist != NULL));
	json_object_object_add(o, "instruments", insts);
	json_object_object_add(o, "meta", meta);
	json_object_object_add(o, "k", json_object_new_int(a->k));
	json_object_object_add(o, "ratings", json_object_new_boolean(a->ratings));
	return web_reply_json(r, 200, o);
}

int
web_api_search(const web_app *a, PGconn *conn, const char *q, web_reply *r)
{
	const char *values[2] = {q ? q : "", SEARCH_LIMIT};
	PGresult   *res;
	json_object *list;

	if (strlen(values[0]) > WEB_MAX_QUERY)
		return web_reply_error(r, 400, "the search string is longer than %d bytes", WEB_MAX_QUERY);
	res = web_exec(conn, a->sql.search, 2, values, 0, 0, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return web_reply_db_error(r, conn, res, "search");
	list = json_object_new_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_object_array_add(list, track_ref(res, i));
	PQclear(res);
	return web_reply_json(r, 200, list);
}

int
web_api_track(const web_app *a, PGconn *conn, const char *key, web_reply *r)
{
	const web_catalog *c = &a->cat;
	PGresult   *res;
	json_object *o,
			   *meta,
			   *insts,
			   *audio;
	int			col;

	if (check_key(key, "key", r) != 0)
		return r->status;
	res = web_exec(conn, a->sql.track, 1, &key, 1, c->key_oid, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return web_reply_db_error(r, conn, res, "track");
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		return web_reply_error(r, 404, "no track %s", key);
	}
	o = track_ref(res, 0);
	meta = json_object_new_object();
	insts = json_object_new_array();
	audio = json_object_new_array();
	col = 3;
	for (int i = 0; i < c->n_meta; i++, col++)
		json_object_object_add(meta, c->meta_name[i], text_or_null(res, 0, col));
	for (int i = 0; i < c->n_inst; i++, col++)
		if (strcmp(PQgetvalue(res, 0, col), "t") == 0)
			json_object_array_add(insts, json_object_new_string(c->inst[i].name));
	for (int i = 0; i < c->n_audio; i++, col++)
		if (strcmp(PQgetvalue(res, 0, col), "t") == 0)
			json_object_array_add(audio, json_object_new_string(c->audio[i].name));
	PQclear(res);
	json_object_object_add(o, "meta", meta);
	json_object_object_add(o, "instruments", insts);
	json_object_object_add(o, "audio", audio);
	return web_reply_json(r, 200, o);
}

/* Is there a track of this key?  1 yes, 0 no (reply: 404), -1 error (reply set). */
static int
track_exists(const web_app *a, PGconn *conn, const char *key, web_reply *r)
{
	PGresult   *res = web_exec(conn, a->sql.track, 1, &key, 1, a->cat.key_oid, 0);
	int			n;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		web_reply_db_error(r, conn, res, "track");
		return -1;
	}
	n = PQntuples(res);
	PQclear(res);
	if (n == 0)
		web_reply_error(r, 404, "no track %s", key);
	return n > 0;
}

int
web_api_neighbours(const web_app *a, PGconn *conn, const char *key, const char *inst, web_reply *r)
{
	char		k[16];
	const char *values[2] = {key, k};
	PGresult   *res;
	json_object *list;
	int			i;

	if (check_key(key, "key", r) != 0 || (i = check_instrument(a, inst, r)) < 0 ||
		track_exists(a, conn, key, r) != 1)
		return r->status;
	snprintf(k, sizeof(k), "%d", a->k);
	res = web_exec(conn, a->sql.neighbours[i], 2, values, 1, a->cat.key_oid, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return web_reply_db_error(r, conn, res, "neighbours");
	list = json_object_new_array();
	for (int row = 0; row < PQntuples(res); row++)
	{
		json_object *o = track_ref(res, row);

		json_object_object_add(o, "distance", PQgetisnull(res, row, 3) ? NULL :
							   json_object_new_double(strtod(PQgetvalue(res, row, 3), NULL)));
		json_object_array_add(list, o);
	}
	PQclear(res);
	return web_reply_json(r, 200, list);
}

int
web_api_moment(const web_app *a, PGconn *conn, const char *key_a, const char *key_b,
			   const char *inst, web_reply *r)
{
	const char *values[3] = {key_a, key_b, NULL};
	PGresult   *res;
	json_object *o;
	int			i;

	if (check_key(key_a, "a", r) != 0 || check_key(key_b, "b", r) != 0 ||
		(i = check_instrument(a, inst, r)) < 0 ||
		track_exists(a, conn, key_a, r) != 1 || track_exists(a, conn, key_b, r) != 1)
		return r->status;
	if (!a->cat.inst[i].model[0])
		return web_reply_error(r, 404, "instrument %s has no model of its name: no moments", inst);
	values[2] = a->cat.inst[i].model;
	res = web_exec(conn, a->sql.moment[i], 3, values, 2, a->cat.key_oid, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return web_reply_db_error(r, conn, res, "moment");
	if (PQntuples(res) == 0)
	{
		/* silent or missing audio: no segment to match, play from the start */
		PQclear(res);
		return web_reply_json(r, 200, NULL);
	}
	o = json_object_new_object();
	json_object_object_add(o, "a_start", json_object_new_double(strtod(PQgetvalue(res, 0, 0), NULL)));
	json_object_object_add(o, "b_start", json_object_new_double(strtod(PQgetvalue(res, 0, 1), NULL)));
	json_object_object_add(o, "distance", json_object_new_double(strtod(PQgetvalue(res, 0, 2), NULL)));
	PQclear(res);
	return web_reply_json(r, 200, o);
}

int
web_api_explain(const web_app *a, PGconn *conn, const char *key_a, const char *key_b, web_reply *r)
{
	const char *values[2] = {key_a, key_b};
	PGresult   *res;
	json_object *o;

	if (check_key(key_a, "a", r) != 0 || check_key(key_b, "b", r) != 0)
		return r->status;
	res = web_exec(conn, a->sql.explain, 2, values, 2, a->cat.key_oid, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return web_reply_db_error(r, conn, res, "explain");
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		return web_reply_error(r, 404, "no such pair of tracks (%s, %s)", key_a, key_b);
	}
	o = json_object_new_object();
	for (int i = 0; i < a->cat.n_inst; i++)
		json_object_object_add(o, a->cat.inst[i].name, PQgetisnull(res, 0, i) ? NULL :
							   json_object_new_double(strtod(PQgetvalue(res, 0, i), NULL)));
	PQclear(res);
	return web_reply_json(r, 200, o);
}
