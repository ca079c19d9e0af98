#include "web_audio.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web_api.h"
#include "web_range.h"

/* Bytes per substring() query: a few queries per second of FLAC. */
#define BLOCK (256 * 1024)

typedef struct stream
{
	web_app    *app;
	int			audio;			/* index into the catalogue's audio columns */
	char		key[WEB_MAX_KEY + 1];
	uint64_t	first;			/* offset of the response's first byte */
} stream;

static const char *
media_type(const unsigned char *h, size_t n)
{
	if (n >= 4 && memcmp(h, "fLaC", 4) == 0)
		return "audio/flac";
	if (n >= 4 && memcmp(h, "OggS", 4) == 0)
		return "audio/ogg";
	if (n >= 12 && (memcmp(h, "RIFF", 4) == 0 || memcmp(h, "RF64", 4) == 0) && memcmp(h + 8, "WAVE", 4) == 0)
		return "audio/wav";
	if (n >= 12 && memcmp(h, "FORM", 4) == 0 && (memcmp(h + 8, "AIFF", 4) == 0 || memcmp(h + 8, "AIFC", 4) == 0))
		return "audio/aiff";
	return "application/octet-stream";
}

static ssize_t
read_block(void *cls, uint64_t pos, char *buf, size_t max)
{
	stream	   *s = cls;
	PGconn	   *conn = web_pool_get(s->app->pool);
	char		from[32],
				count[16];
	const char *values[3] = {s->key, from, count};
	PGresult   *res;
	ssize_t		got = MHD_CONTENT_READER_END_WITH_ERROR;

	/* substring() counts from 1 */
	snprintf(from, sizeof(from), "%" PRIu64, s->first + pos + 1);
	snprintf(count, sizeof(count), "%zu", max < BLOCK ? max : BLOCK);
	res = web_exec(conn, s->app->sql.audio_slice[s->audio], 3, values, 1, s->app->cat.key_oid, 1);
	/* a row gone or shortened meanwhile ends the response short, as an error */
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
		PQgetlength(res, 0, 0) > 0)
	{
		got = PQgetlength(res, 0, 0);
		memcpy(buf, PQgetvalue(res, 0, 0), (size_t) got);
	}
	else if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "instsim-web: audio of %s: %s", s->key, PQerrorMessage(conn));
	PQclear(res);
	web_pool_put(s->app->pool, conn);
	return got;
}

/* Length and first bytes of the audio; 0, or the reply's status. */
static int
head(web_app *a, int audio, const char *key, uint64_t *length, const char **type, web_reply *r)
{
	PGconn	   *conn = web_pool_get(a->pool);
	PGresult   *res = web_exec(conn, a->sql.audio_head[audio], 1, &key, 1, a->cat.key_oid, 1);
	int			rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = web_reply_db_error(r, conn, res, "audio");
	else
	{
		if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
			rc = web_reply_error(r, 404, "no %s audio for track %s", a->cat.audio[audio].name, key);
		else
		{
			uint32_t	len;

			memcpy(&len, PQgetvalue(res, 0, 0), sizeof(len));
			*length = ntohl(len);
			*type = media_type((const unsigned char *) PQgetvalue(res, 0, 1),
							   (size_t) PQgetlength(res, 0, 1));
		}
		PQclear(res);
	}
	web_pool_put(a->pool, conn);
	return rc;
}

struct MHD_Response *
web_audio_response(web_app *a, const char *key, const char *src, const char *range,
				   unsigned int *status, web_reply *r)
{
	int			audio = src && *src ? web_catalog_audio(&a->cat, src) : 0;
	uint64_t	length = 0,
				first = 0,
				last = 0;
	const char *type = NULL;
	char		value[96];
	stream	   *s;
	struct MHD_Response *resp;
	web_range_kind kind;

	if (!key || !*key || strlen(key) > WEB_MAX_KEY)
		return web_reply_error(r, 400, "missing or overlong parameter key"), NULL;
	if (audio < 0)
		return web_reply_error(r, 404, "no audio column \"%s\" in this catalogue", src), NULL;
	if (head(a, audio, key, &length, &type, r) != 0)
		return NULL;
	kind = web_range_parse(range, length, &first, &last);
	if (kind == WEB_RANGE_MALFORMED)
		return web_reply_error(r, 400, "malformed Range header"), NULL;
	if (kind == WEB_RANGE_UNSATISFIABLE)
	{
		web_reply_error(r, 416, "the range starts past the end of the audio (%" PRIu64 " bytes)", length);
		snprintf(value, sizeof(value), "bytes */%" PRIu64, length);
		r->content_range = strdup(value);
		return NULL;
	}
	if (kind == WEB_RANGE_NONE)
		first = 0, last = length ? length - 1 : 0;
	if (!(s = calloc(1, sizeof(stream))))
		return web_reply_error(r, 500, "out of memory"), NULL;
	s->app = a;
	s->audio = audio;
	s->first = first;
	snprintf(s->key, sizeof(s->key), "%s", key);
	resp = MHD_create_response_from_callback(length ? last - first + 1 : 0, BLOCK, read_block, s, free);
	if (!resp)
	{
		free(s);
		return web_reply_error(r, 500, "out of memory"), NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	*status = MHD_HTTP_OK;
	if (kind == WEB_RANGE_PART)
	{
		snprintf(value, sizeof(value), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, length);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, value);
		*status = MHD_HTTP_PARTIAL_CONTENT;
	}
	return resp;
}
