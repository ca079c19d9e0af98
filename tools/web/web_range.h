/*
 * HTTP Range requests (RFC 9110, section 14) over a body of known length,
 * as browsers send them for <audio>: one range of bytes, "first-last",
 * "first-" or "-suffix".  Kept apart from the server so that it is tested
 * on its own (test/unit/test_tool_web.c).
 */
#ifndef INSTSIM_WEB_RANGE_H
#define INSTSIM_WEB_RANGE_H

#include <stdint.h>

typedef enum web_range_kind
{
	WEB_RANGE_NONE,				/* no Range, another unit, or several ranges: send it all (200) */
	WEB_RANGE_PART,				/* send bytes first..last inclusive (206) */
	WEB_RANGE_UNSATISFIABLE,	/* starts at or past the end (416) */
	WEB_RANGE_MALFORMED			/* bytes=... that is no range (400) */
} web_range_kind;

web_range_kind web_range_parse(const char *header, uint64_t length, uint64_t *first, uint64_t *last);

#endif
