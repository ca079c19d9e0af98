#include "web_catalog.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

#define MAX_COLUMNS 1600		/* PostgreSQL's MaxHeapAttributeNumber */

typedef struct column
{
	char		name[64];
	bool		embedding;
	bool		bytea;
} column;

typedef struct lookup
{
	PGconn	   *conn;
	column	   *cols;
	int			n_cols;
	char	   *err;
	size_t		errlen;
} lookup;

/* One query with text parameters; NULL with err unless it returned rows. */
static PGresult *
query(lookup *l, const char *sql, int n, const char *const *values)
{
	PGresult   *r = PQexecParams(l->conn, sql, n, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK)
		return r;
	is_fail(l->err, l->errlen, "%s", PQerrorMessage(l->conn));
	PQclear(r);
	return NULL;
}

/* The single value of a one-row query, malloc'd; NULL for SQL NULL or error. */
static char *
query_value(lookup *l, const char *sql, int n, const char *const *values, bool *failed)
{
	PGresult   *r = query(l, sql, n, values);
	char	   *v = NULL;

	*failed = !r;
	if (r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static char *
quoted(lookup *l, const char *ident)
{
	char	   *q = PQescapeIdentifier(l->conn, ident, strlen(ident));
	char	   *copy = q ? strdup(q) : NULL;

	PQfreemem(q);
	return copy;
}

static const column *
find_column(const lookup *l, const char *name)
{
	for (int i = 0; i < l->n_cols; i++)
		if (strcmp(l->cols[i].name, name) == 0)
			return &l->cols[i];
	return NULL;
}

static int
no_column(lookup *l, const char *what, const char *name, const char *table)
{
	return is_fail(l->err, l->errlen, "%s column \"%s\" does not exist in %s%s", what, name,
				   table, strcmp(what, "embedding") == 0 ? " (or is not of type embedding)" :
				   strcmp(what, "audio") == 0 ? " (or is not bytea)" : "");
}

/* Reads the table's columns; the table is resolved by the caller's search_path. */
static int
load_table(lookup *l, const char *table, web_catalog *c, char *oid, size_t oidlen)
{
	const char *v[1] = {table};
	PGresult   *r = query(l, "SELECT c.oid, n.nspname, c.relname, c.relkind IN ('r', 'p', 'v', 'm', 'f') "
						  "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
						  "WHERE c.oid = pg_catalog.to_regclass($1)", 1, v);
	char	   *schema,
			   *rel;

	if (!r)
		return -1;
	if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 3), "t") != 0)
	{
		PQclear(r);
		return is_fail(l->err, l->errlen, "no table \"%s\" in this database (--table)", table);
	}
	snprintf(oid, oidlen, "%s", PQgetvalue(r, 0, 0));
	schema = quoted(l, PQgetvalue(r, 0, 1));
	rel = quoted(l, PQgetvalue(r, 0, 2));
	PQclear(r);
	if (schema && rel && (c->table = malloc(strlen(schema) + strlen(rel) + 2)))
		sprintf(c->table, "%s.%s", schema, rel);
	free(schema);
	free(rel);
	if (!c->table)
		return is_fail(l->err, l->errlen, "out of memory");

	v[0] = oid;
	r = query(l, "SELECT a.attname, t.typname = 'embedding' AND t.typnamespace = "
			  "  (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'instsim'), "
			  "  a.atttypid = 'pg_catalog.bytea'::pg_catalog.regtype "
			  "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
			  "WHERE a.attrelid = $1::pg_catalog.oid AND a.attnum > 0 AND NOT a.attisdropped "
			  "ORDER BY a.attnum", 1, v);
	if (!r)
		return -1;
	l->n_cols = PQntuples(r) < MAX_COLUMNS ? PQntuples(r) : MAX_COLUMNS;
	l->cols = calloc(l->n_cols + 1, sizeof(column));
	for (int i = 0; l->cols && i < l->n_cols; i++)
	{
		snprintf(l->cols[i].name, sizeof(l->cols[i].name), "%s", PQgetvalue(r, i, 0));
		l->cols[i].embedding = strcmp(PQgetvalue(r, i, 1), "t") == 0;
		l->cols[i].bytea = strcmp(PQgetvalue(r, i, 2), "t") == 0;
	}
	PQclear(r);
	return l->cols ? 0 : is_fail(l->err, l->errlen, "out of memory");
}

static int
load_key(lookup *l, const web_catalog_opts *o, const char *oid, web_catalog *c)
{
	const char *v[2] = {oid, NULL};
	char	   *pk = NULL;
	PGresult   *r;
	bool		failed;

	if (!o->key)
	{
		pk = query_value(l, "SELECT instsim.primary_key_column($1::pg_catalog.oid::pg_catalog.regclass)",
						 1, v, &failed);
		if (!pk)
			return failed ? -1 : is_fail(l->err, l->errlen, "%s has no single-column primary key: "
										 "name the column that identifies a track with --key", o->table);
	}
	v[1] = o->key ? o->key : pk;
	r = query(l, "SELECT a.atttypid, pg_catalog.format_type(a.atttypid, NULL), k.eq "
			  "FROM pg_catalog.pg_attribute a, instsim.key_operators($1::pg_catalog.oid::pg_catalog.regclass, $2) k "
			  "WHERE a.attrelid = $1::pg_catalog.oid AND a.attname = $2 AND NOT a.attisdropped "
			  "  AND a.attnum > 0 AND k.eq IS NOT NULL", 2, v);
	if (r && PQntuples(r) == 1)
	{
		c->key = quoted(l, v[1]);
		snprintf(c->key_name, sizeof(c->key_name), "%s", v[1]);
		c->key_oid = (unsigned int) strtoul(PQgetvalue(r, 0, 0), NULL, 10);
		c->key_type = strdup(PQgetvalue(r, 0, 1));
		c->key_eq = strdup(PQgetvalue(r, 0, 2));
	}
	else if (r)
		is_fail(l->err, l->errlen, "key column \"%s\" does not exist in %s or its type has no "
				"btree equality", v[1], o->table);
	PQclear(r);
	free(pk);
	return c->key ? 0 : -1;
}

/* name is a column of the table (of the kind wanted): its quoted name. */
static char *
column_ident(lookup *l, const char *name, const char *what, const char *table, bool embedding,
			 bool bytea)
{
	const column *col = find_column(l, name);

	if (!col || (embedding && !col->embedding) || (bytea && !col->bytea))
	{
		no_column(l, what, name, table);
		return NULL;
	}
	return quoted(l, name);
}

static int
add_audio(lookup *l, web_catalog *c, const char *name, const char *table)
{
	int			i = web_catalog_audio(c, name);

	if (i >= 0)
		return i;
	if (c->n_audio == WEB_MAX_AUDIO)
		return is_fail(l->err, l->errlen, "too many audio columns (at most %d)", WEB_MAX_AUDIO);
	if (!(c->audio[c->n_audio].col = column_ident(l, name, "audio", table, false, true)))
		return -1;
	snprintf(c->audio[c->n_audio].name, sizeof(c->audio[0].name), "%s", name);
	return c->n_audio++;
}

static bool
model_exists(lookup *l, const char *name, bool *failed)
{
	const char *v[1] = {name};
	char	   *found = query_value(l, "SELECT name FROM instsim.model WHERE name = $1", 1, v, failed);

	free(found);
	return found != NULL;
}

/* spec is EMB[:AUDIO[:MODEL]]; the defaults are EMB_audio (or the main audio) and EMB. */
static int
add_instrument(lookup *l, web_catalog *c, const char *spec, const char *table)
{
	web_instrument *in = &c->inst[c->n_inst];
	char		buf[256],
				fallback[80],
			   *audio,
			   *model;
	bool		failed = false;

	if (c->n_inst == WEB_MAX_INSTRUMENTS)
		return is_fail(l->err, l->errlen, "too many instruments (at most %d)", WEB_MAX_INSTRUMENTS);
	if (strlen(spec) >= sizeof(buf))
		return is_fail(l->err, l->errlen, "--instrument %s: too long", spec);
	strcpy(buf, spec);
	audio = strchr(buf, ':');
	if (audio)
		*audio++ = '\0';
	model = audio ? strchr(audio, ':') : NULL;
	if (model)
		*model++ = '\0';
	snprintf(in->name, sizeof(in->name), "%s", buf);
	if (!(in->emb = column_ident(l, buf, "embedding", table, true, false)))
		return -1;
	snprintf(fallback, sizeof(fallback), "%s_audio", buf);
	if (!audio || !*audio)
	{
		const column *col = find_column(l, fallback);

		audio = col && col->bytea ? fallback : c->audio[0].name;
	}
	if ((in->audio = add_audio(l, c, audio, table)) < 0)
		return -1;
	if (model && *model)
	{
		if (!model_exists(l, model, &failed))
			return failed ? -1 : is_fail(l->err, l->errlen, "--instrument %s: no model \"%s\" "
										 "in instsim.model", spec, model);
		snprintf(in->model, sizeof(in->model), "%s", model);
	}
	else if (model_exists(l, buf, &failed))
		snprintf(in->model, sizeof(in->model), "%s", buf);
	if (failed)
		return -1;
	c->n_inst++;
	return 0;
}

static int
load_meta(lookup *l, const web_catalog_opts *o, web_catalog *c)
{
	char		buf[1024];

	if (!o->meta || !*o->meta)
		return 0;
	if (strlen(o->meta) >= sizeof(buf))
		return is_fail(l->err, l->errlen, "--meta: too long");
	strcpy(buf, o->meta);
	for (char *save = NULL, *m = strtok_r(buf, ",", &save); m; m = strtok_r(NULL, ",", &save))
	{
		if (c->n_meta == WEB_MAX_META)
			return is_fail(l->err, l->errlen, "--meta: at most %d columns", WEB_MAX_META);
		if (!(c->meta[c->n_meta] = column_ident(l, m, "metadata", o->table, false, false)))
			return -1;
		snprintf(c->meta_name[c->n_meta++], sizeof(c->meta_name[0]), "%s", m);
	}
	return 0;
}

/* The instrument names as a text[] literal, each element quoted. */
static char *
instrument_array(const web_catalog *c)
{
	size_t		len = 3;
	char	   *s,
			   *p;

	for (int i = 0; i < c->n_inst; i++)
		len += 2 * strlen(c->inst[i].name) + 3;
	if (!(s = malloc(len)))
		return NULL;
	p = s;
	*p++ = '{';
	for (int i = 0; i < c->n_inst; i++)
	{
		if (i)
			*p++ = ',';
		*p++ = '"';
		for (const char *q = c->inst[i].name; *q; q++)
		{
			if (*q == '"' || *q == '\\')
				*p++ = '\\';
			*p++ = *q;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return s;
}

static int
load(lookup *l, const web_catalog_opts *o, web_catalog *c)
{
	char		oid[32];
	const char *v[1] = {oid};
	char	   *ext;
	bool		failed;
	const column *col = NULL;
	PGresult   *r;

	ext = query_value(l, "SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n "
					  "ON n.oid = e.extnamespace WHERE e.extname = 'instsim'", 0, NULL, &failed);
	if (!ext)
		return failed ? -1 : is_fail(l->err, l->errlen, "the extension instsim is not installed "
									 "in this database (CREATE EXTENSION instsim)");
	c->ext = quoted(l, ext);
	free(ext);
	if (load_table(l, o->table, c, oid, sizeof(oid)) != 0)
		return -1;
	/* from here on every name is resolved by OID or qualified by schema */
	if (!(r = query(l, "SET search_path = pg_catalog, pg_temp", 0, NULL)))
		return -1;
	PQclear(r);
	if (!(c->table_text = query_value(l, "SELECT $1::pg_catalog.oid::pg_catalog.regclass::text",
									  1, v, &failed)))
		return -1;
	if (load_key(l, o, oid, c) != 0)
		return -1;
	if (!(c->title = column_ident(l, o->title ? o->title : "title", "title", o->table, false, false)))
		return -1;
	if (o->artist && !(c->artist = column_ident(l, o->artist, "artist", o->table, false, false)))
		return -1;
	if (!o->artist && (col = find_column(l, "artist")))
		c->artist = quoted(l, col->name);
	if (load_meta(l, o, c) != 0)
		return -1;
	if (!o->audio)
	{
		col = find_column(l, "mix_audio");
		if (!col || !col->bytea)
			col = find_column(l, "audio");
		if (!col || !col->bytea)
			return is_fail(l->err, l->errlen, "%s has neither a mix_audio nor an audio column of "
						   "type bytea: name the track's audio with --audio", o->table);
	}
	if (add_audio(l, c, o->audio ? o->audio : col->name, o->table) < 0)
		return -1;
	for (int i = 0; i < o->n_instruments; i++)
		if (add_instrument(l, c, o->instruments[i], o->table) != 0)
			return -1;
	for (int i = 0; o->n_instruments == 0 && i < l->n_cols; i++)
		if (l->cols[i].embedding && add_instrument(l, c, l->cols[i].name, o->table) != 0)
			return -1;
	if (c->n_inst == 0)
		return is_fail(l->err, l->errlen, "%s has no embedding column", o->table);
	if (!(c->inst_array = instrument_array(c)))
		return is_fail(l->err, l->errlen, "out of memory");
	return 0;
}

int
web_catalog_load(PGconn *conn, const web_catalog_opts *o, web_catalog *c, char *err, size_t errlen)
{
	lookup		l = {conn, NULL, 0, err, errlen};
	int			rc;

	memset(c, 0, sizeof(*c));
	rc = load(&l, o, c);
	free(l.cols);
	if (rc != 0)
		web_catalog_free(c);
	return rc;
}

void
web_catalog_free(web_catalog *c)
{
	free(c->table);
	free(c->table_text);
	free(c->key);
	free(c->key_type);
	free(c->key_eq);
	free(c->title);
	free(c->artist);
	for (int i = 0; i < c->n_meta; i++)
		free(c->meta[i]);
	for (int i = 0; i < c->n_audio; i++)
		free(c->audio[i].col);
	for (int i = 0; i < c->n_inst; i++)
		free(c->inst[i].emb);
	free(c->ext);
	free(c->inst_array);
	memset(c, 0, sizeof(*c));
}

int
web_catalog_instrument(const web_catalog *c, const char *name)
{
	for (int i = 0; name && i < c->n_inst; i++)
		if (strcmp(c->inst[i].name, name) == 0)
			return i;
	return -1;
}

int
web_catalog_audio(const web_catalog *c, const char *name)
{
	for (int i = 0; name && i < c->n_audio; i++)
		if (strcmp(c->audio[i].name, name) == 0)
			return i;
	return -1;
}
