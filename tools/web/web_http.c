#include "web_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"
#include "web_api.h"
#include "web_assets.h"
#include "web_audio.h"
#include "web_listen.h"

#define CONNECTION_LIMIT 64
#define CONNECTION_TIMEOUT_S 60

struct web_http
{
	struct MHD_Daemon *daemon;
};

/* One request's state across the calls that bring its body. */
typedef struct request
{
	char		body[WEB_MAX_BODY + 1];
	size_t		len;
	bool		too_large;
} request;

static const char *
arg(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static void
common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Content-Security-Policy",
							"default-src 'self'; media-src 'self'; object-src 'none'; frame-ancestors 'none'");
}

static enum MHD_Result
send_reply(struct MHD_Connection *c, web_reply *r)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (!resp)
	{
		free(r->body);
		free(r->content_range);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (r->content_range)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, r->content_range);
	if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
	common_headers(resp);
	rc = MHD_queue_response(c, (unsigned int) r->status, resp);
	MHD_destroy_response(resp);
	free(r->content_range);
	return rc;
}

/* Sends a response that the browser may keep but must check again (no-cache). */
static enum MHD_Result
send_revalidated(struct MHD_Connection *c, unsigned int status, struct MHD_Response *resp)
{
	enum MHD_Result rc;

	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	common_headers(resp);
	rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result
send_asset(struct MHD_Connection *c, const web_asset *asset)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer((size_t) (asset->end - asset->start),
																(void *) asset->start,
																MHD_RESPMEM_PERSISTENT);

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, asset->type);
	return send_revalidated(c, MHD_HTTP_OK, resp);
}

/* Does the Host header name this server on loopback (or is there none, HTTP/1.0)? */
static bool
host_allowed(const web_app *a, struct MHD_Connection *c)
{
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
	char		want[64];

	if (!a->check_host || !host)
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
	{
		snprintf(want, sizeof(want), "%s:%d", names[i], a->port);
		if (strcasecmp(host, want) == 0 || (a->port == 80 && strcasecmp(host, names[i]) == 0))
			return true;
	}
	return false;
}

static enum MHD_Result
send_audio(web_app *a, struct MHD_Connection *c)
{
	web_reply	r = {0};
	unsigned int status = 0;
	const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	struct MHD_Response *resp = web_audio_response(a, arg(c, "key"), arg(c, "src"), range, &status, &r);

	return resp ? send_revalidated(c, status, resp) : send_reply(c, &r);
}

/* The JSON endpoints that read the catalogue, on a pooled session. */
static bool
route_api(web_app *a, struct MHD_Connection *c, const char *url, request *rq, bool post, web_reply *r)
{
	PGconn	   *conn;

	if (strcmp(url, "/api/listen/rate") == 0 ? !post : post)
	{
		web_reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "%s does not take this method", url);
		return true;
	}
	if (strcmp(url, "/api/info") == 0)
	{
		web_api_info(a, r);
		return true;
	}
	if (strcmp(url, "/api/search") && strcmp(url, "/api/track") && strcmp(url, "/api/neighbours") &&
		strcmp(url, "/api/moment") && strcmp(url, "/api/explain") && strcmp(url, "/api/listen/resume") &&
		strcmp(url, "/api/listen/pair") && strcmp(url, "/api/listen/rate"))
		return false;
	conn = web_pool_get(a->pool);
	if (strcmp(url, "/api/search") == 0)
		web_api_search(a, conn, arg(c, "q"), r);
	else if (strcmp(url, "/api/track") == 0)
		web_api_track(a, conn, arg(c, "key"), r);
	else if (strcmp(url, "/api/neighbours") == 0)
		web_api_neighbours(a, conn, arg(c, "key"), arg(c, "instrument"), r);
	else if (strcmp(url, "/api/moment") == 0)
		web_api_moment(a, conn, arg(c, "a"), arg(c, "b"), arg(c, "instrument"), r);
	else if (strcmp(url, "/api/explain") == 0)
		web_api_explain(a, conn, arg(c, "a"), arg(c, "b"), r);
	else if (strcmp(url, "/api/listen/resume") == 0)
		web_listen_resume(a, conn, arg(c, "rater"), r);
	else if (strcmp(url, "/api/listen/pair") == 0)
		web_listen_pair(a, conn, arg(c, "rater"), arg(c, "pos"), r);
	else
		web_listen_rate(a, conn, rq->body, rq->len, r);
	web_pool_put(a->pool, conn);
	return true;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	   const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	web_app    *a = cls;
	request    *rq = *con_cls;
	bool		post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	web_reply	r = {0};
	const web_asset *asset;

	if (!rq)
	{
		const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		if (!(rq = calloc(1, sizeof(request))))
			return MHD_NO;
		*con_cls = rq;
		/* refuse a declared oversize body before reading it */
		if (length && strtoull(length, NULL, 10) > WEB_MAX_BODY)
		{
			web_reply_error(&r, MHD_HTTP_CONTENT_TOO_LARGE, "request bodies are limited to %d bytes",
							WEB_MAX_BODY);
			return send_reply(c, &r);
		}
		return MHD_YES;
	}
	if (*upload_size)
	{
		if (rq->len + *upload_size > WEB_MAX_BODY)
			rq->too_large = true;
		else
		{
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_large)
		web_reply_error(&r, MHD_HTTP_CONTENT_TOO_LARGE, "request bodies are limited to %d bytes", WEB_MAX_BODY);
	else if (!host_allowed(a, c))
		web_reply_error(&r, MHD_HTTP_MISDIRECTED_REQUEST, "this server answers to 127.0.0.1:%d only", a->port);
	else if (!post && strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		web_reply_error(&r, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s is not supported", method);
	else if (!post && (asset = web_asset_find(url)))
		return send_asset(c, asset);
	else if (!post && strcmp(url, "/api/audio") == 0)
		return send_audio(a, c);
	else if (!route_api(a, c, url, rq, post, &r))
		web_reply_error(&r, MHD_HTTP_NOT_FOUND, "no page %s", url);
	return send_reply(c, &r);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

web_http *
web_http_start(web_app *a, const char *addr, int port, int threads, char *err, size_t errlen)
{
	struct sockaddr_in in4 = {0};
	struct sockaddr_in6 in6 = {0};
	struct sockaddr *sa;
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	web_http   *h;
	const union MHD_DaemonInfo *info;

	if (inet_pton(AF_INET, addr, &in4.sin_addr) == 1)
	{
		in4.sin_family = AF_INET;
		in4.sin_port = htons((uint16_t) port);
		sa = (struct sockaddr *) &in4;
		a->check_host = ntohl(in4.sin_addr.s_addr) >> 24 == 127;
	}
	else if (inet_pton(AF_INET6, addr, &in6.sin6_addr) == 1)
	{
		in6.sin6_family = AF_INET6;
		in6.sin6_port = htons((uint16_t) port);
		sa = (struct sockaddr *) &in6;
		flags |= MHD_USE_IPv6;
		a->check_host = IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr);
	}
	else
	{
		is_fail(err, errlen, "--listen %s is not an IPv4 or IPv6 address", addr);
		return NULL;
	}
	if (!(h = calloc(1, sizeof(web_http))))
	{
		is_fail(err, errlen, "out of memory");
		return NULL;
	}
	h->daemon = MHD_start_daemon(flags, (uint16_t) port, NULL, NULL, handle, a,
								 MHD_OPTION_SOCK_ADDR, sa,
								 MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) threads,
								 MHD_OPTION_CONNECTION_LIMIT, (unsigned int) CONNECTION_LIMIT,
								 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) CONNECTION_TIMEOUT_S,
								 MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
								 MHD_OPTION_END);
	if (!h->daemon)
	{
		is_fail(err, errlen, "cannot listen on %s port %d (in use, or not an address of this machine?)",
				addr, port);
		free(h);
		return NULL;
	}
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	a->port = info ? info->port : port;
	return h;
}

void
web_http_stop(web_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}
