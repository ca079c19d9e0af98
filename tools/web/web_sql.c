#define _GNU_SOURCE				/* vasprintf */
#include "web_sql.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends to *s (NULL to start); on failure *s becomes NULL and stays so. */
static void append(char **s, bool *failed, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
append(char **s, bool *failed, const char *fmt, ...)
{
	va_list		ap;
	char	   *part,
			   *grown;
	size_t		have = *s ? strlen(*s) : 0;

	if (*failed)
		return;
	va_start(ap, fmt);
	if (vasprintf(&part, fmt, ap) < 0)
		part = NULL;
	va_end(ap);
	grown = part ? realloc(*s, have + strlen(part) + 1) : NULL;
	if (!grown)
	{
		free(part);
		free(*s);
		*s = NULL;
		*failed = true;
		return;
	}
	strcpy(grown + have, part);
	free(part);
	*s = grown;
}

/* The artist column of alias t as text, or a NULL of type text. */
static void
artist(char **s, bool *failed, const web_catalog *c, const char *t)
{
	if (c->artist)
		append(s, failed, "%s.%s::text", t, c->artist);
	else
		append(s, failed, "NULL::text");
}

static void
search(const web_catalog *c, char **s, bool *failed)
{
	append(s, failed, "SELECT t.%s::text, t.%s::text, ", c->key, c->title);
	artist(s, failed, c, "t");
	append(s, failed, " FROM %s t WHERE strpos(lower(t.%s::text), lower($1)) > 0", c->table, c->title);
	if (c->artist)
		append(s, failed, " OR strpos(lower(t.%s::text), lower($1)) > 0", c->artist);
	append(s, failed, " ORDER BY t.%s::text, t.%s::text LIMIT $2", c->title, c->key);
}

static void
track(const web_catalog *c, char **s, bool *failed)
{
	append(s, failed, "SELECT t.%s::text, t.%s::text, ", c->key, c->title);
	artist(s, failed, c, "t");
	for (int i = 0; i < c->n_meta; i++)
		append(s, failed, ", t.%s::text", c->meta[i]);
	for (int i = 0; i < c->n_inst; i++)
		append(s, failed, ", t.%s IS NOT NULL", c->inst[i].emb);
	for (int i = 0; i < c->n_audio; i++)
		append(s, failed, ", t.%s IS NOT NULL", c->audio[i].col);
	append(s, failed, " FROM %s t WHERE t.%s %s $1", c->table, c->key, c->key_eq);
}

static void
explain(const web_catalog *c, char **s, bool *failed)
{
	append(s, failed, "SELECT ");
	for (int i = 0; i < c->n_inst; i++)
		append(s, failed, "%sa.%s OPERATOR(%s.<=>) b.%s", i ? ", " : "", c->inst[i].emb, c->ext,
			   c->inst[i].emb);
	append(s, failed, " FROM %s a, %s b WHERE a.%s %s $1 AND b.%s %s $2", c->table, c->table,
		   c->key, c->key_eq, c->key, c->key_eq);
}

/*
 * The nearest rows by one embedding, ordered by the distance to a constant
 * (the query row's vector, an InitPlan) so that an instsim_hnsw index on the
 * column serves it; the query row itself is left out.
 */
static void
neighbours(const web_catalog *c, const web_instrument *in, char **s, bool *failed)
{
	char	   *query = NULL;

	append(&query, failed, "(SELECT q.%s FROM %s q WHERE q.%s %s $1)", in->emb, c->table, c->key,
		   c->key_eq);
	append(s, failed, "SELECT n.%s::text, n.%s::text, ", c->key, c->title);
	artist(s, failed, c, "n");
	append(s, failed, ", n.%s OPERATOR(%s.<=>) %s FROM %s n WHERE n.%s IS NOT NULL AND NOT (n.%s %s $1) "
		   "ORDER BY n.%s OPERATOR(%s.<=>) %s LIMIT $2", in->emb, c->ext, query, c->table, in->emb,
		   c->key, c->key_eq, in->emb, c->ext, query);
	free(query);
}

/*
 * The best-matching moment of two tracks: the pair of their segments (one
 * of each) nearest to each other, from the instrument's audio and model.
 */
static void
moment(const web_catalog *c, const web_instrument *in, char **s, bool *failed)
{
	const char *audio = c->audio[in->audio].col;

	append(s, failed, "WITH a AS MATERIALIZED (SELECT g.start_s, g.emb FROM %s t, %s.instsim_segments(t.%s, $3) g "
		   "WHERE t.%s %s $1), ", c->table, c->ext, audio, c->key, c->key_eq);
	append(s, failed, "b AS MATERIALIZED (SELECT g.start_s, g.emb FROM %s t, %s.instsim_segments(t.%s, $3) g "
		   "WHERE t.%s %s $2) ", c->table, c->ext, audio, c->key, c->key_eq);
	append(s, failed, "SELECT a.start_s, b.start_s, a.emb OPERATOR(%s.<=>) b.emb AS d FROM a, b "
		   "ORDER BY 3, 1, 2 LIMIT 1", c->ext);
}

static void
listening(const web_catalog *c, web_sql *q, bool *failed)
{
	const char *pairs = "FROM instsim.listening_pair p WHERE p.catalogue = $2 AND p.instrument = ANY ($3::name[])";
	const char *order = "md5($1 || ':' || p.id::text)";

	append(&q->listen_resume, failed,
		   "SELECT coalesce(min(pos) FILTER (WHERE NOT rated), count(*)), count(*), "
		   "count(*) FILTER (WHERE rated) FROM (SELECT row_number() OVER (ORDER BY %s) - 1 AS pos, "
		   "EXISTS (SELECT FROM instsim.listening_rating r WHERE r.pair = p.id AND r.rater = $1) AS rated "
		   "%s) s", order, pairs);
	append(&q->listen_pair, failed,
		   "SELECT p.id, p.instrument, p.key_a, p.key_b, (SELECT r.rating FROM instsim.listening_rating r "
		   "WHERE r.pair = p.id AND r.rater = $1 ORDER BY r.rated_at DESC LIMIT 1), count(*) OVER () "
		   "%s ORDER BY %s OFFSET $4 LIMIT 1", pairs, order);
	append(&q->listen_rate, failed,
		   "INSERT INTO instsim.listening_rating (pair, rater, rating) SELECT p.id, $2, $3 "
		   "FROM instsim.listening_pair p WHERE p.id = $1 AND p.catalogue = $4 AND p.instrument = ANY ($5::name[])");
	append(&q->draw, failed, "SELECT %s.instsim_listening_draw($3::regclass, $4::name[], $1, $2, $5)", c->ext);
}

int
web_sql_build(const web_catalog *c, web_sql *q)
{
	bool		failed = false;

	memset(q, 0, sizeof(*q));
	search(c, &q->search, &failed);
	track(c, &q->track, &failed);
	explain(c, &q->explain, &failed);
	for (int i = 0; i < c->n_inst; i++)
	{
		neighbours(c, &c->inst[i], &q->neighbours[i], &failed);
		moment(c, &c->inst[i], &q->moment[i], &failed);
	}
	for (int i = 0; i < c->n_audio; i++)
	{
		append(&q->audio_head[i], &failed, "SELECT octet_length(t.%s), substring(t.%s FROM 1 FOR 16) "
			   "FROM %s t WHERE t.%s %s $1", c->audio[i].col, c->audio[i].col, c->table, c->key, c->key_eq);
		append(&q->audio_slice[i], &failed, "SELECT substring(t.%s FROM $2 FOR $3) FROM %s t WHERE t.%s %s $1",
			   c->audio[i].col, c->table, c->key, c->key_eq);
	}
	listening(c, q, &failed);
	if (failed)
		web_sql_free(q);
	return failed ? -1 : 0;
}

void
web_sql_free(web_sql *q)
{
	free(q->search);
	free(q->track);
	free(q->explain);
	for (int i = 0; i < WEB_MAX_INSTRUMENTS; i++)
		free(q->neighbours[i]), free(q->moment[i]);
	for (int i = 0; i < WEB_MAX_AUDIO; i++)
		free(q->audio_head[i]), free(q->audio_slice[i]);
	free(q->listen_resume);
	free(q->listen_pair);
	free(q->listen_rate);
	free(q->draw);
	memset(q, 0, sizeof(*q));
}
