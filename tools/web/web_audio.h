/*
 * Audio from a bytea column to the browser, with HTTP Range, without a
 * temporary copy: the length comes from octet_length, every block sent is
 * one substring() of the column, which PostgreSQL reads as a slice of an
 * uncompressed (STORAGE EXTERNAL) value.  The Content-Type is sniffed from
 * the first bytes (FLAC, OGG, WAV, AIFF).
 */
#ifndef INSTSIM_WEB_AUDIO_H
#define INSTSIM_WEB_AUDIO_H

#include <microhttpd.h>

#include "web_app.h"
#include "web_reply.h"

/*
 * The response for track key's audio column src and the request's Range
 * header (NULL: none), with *status; or NULL with r holding an error.
 */
struct MHD_Response *web_audio_response(web_app *a, const char *key, const char *src,
										const char *range, unsigned int *status, web_reply *r);

#endif
