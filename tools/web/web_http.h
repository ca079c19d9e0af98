/*
 * The HTTP side of instsim-web (libmicrohttpd): routes, request limits,
 * headers.  GET / serves the page, /api/... the JSON endpoints and the
 * audio; POST /api/listen/rate stores a rating.  Request bodies are limited
 * to WEB_MAX_BODY (413 beyond), methods other than GET, HEAD and POST get
 * 405, and when the server listens on loopback only, a Host header naming
 * another host gets 421 (a page elsewhere cannot reach the API through DNS
 * rebinding).
 */
#ifndef INSTSIM_WEB_HTTP_H
#define INSTSIM_WEB_HTTP_H

#include "web_app.h"

typedef struct web_http web_http;

/* Listens on addr:port with threads threads; NULL with err. */
web_http   *web_http_start(web_app *a, const char *addr, int port, int threads, char *err,
							size_t errlen);
void		web_http_stop(web_http *h);

#endif
