/*
 * instsim-web's Range header parsing (RFC 9110, section 14): the forms
 * browsers send, the edges of the body, and what must be refused.
 */
#include <stdint.h>

#include "tap.h"
#include "web_range.h"

static void
expect(const char *header, uint64_t length, web_range_kind kind, uint64_t first, uint64_t last)
{
	uint64_t	f = 0,
				l = 0;
	web_range_kind got = web_range_parse(header, length, &f, &l);
	int			ok = got == kind && (kind != WEB_RANGE_PART || (f == first && l == last));

	tap_ok(ok, "\"%s\" of %llu bytes", header ? header : "(none)", (unsigned long long) length);
	if (!ok)
		tap_diag("got kind %d, %llu-%llu", (int) got, (unsigned long long) f, (unsigned long long) l);
}

int
main(void)
{
	expect(NULL, 100, WEB_RANGE_NONE, 0, 0);
	expect("bytes=0-", 100, WEB_RANGE_PART, 0, 99);
	expect("bytes=0-0", 100, WEB_RANGE_PART, 0, 0);
	expect("bytes=10-19", 100, WEB_RANGE_PART, 10, 19);
	expect("bytes=10-1000", 100, WEB_RANGE_PART, 10, 99);	/* clipped to the end */
	expect("bytes=99-", 100, WEB_RANGE_PART, 99, 99);
	expect("bytes=-10", 100, WEB_RANGE_PART, 90, 99);
	expect("bytes=-1000", 100, WEB_RANGE_PART, 0, 99);	/* a suffix longer than the body */
	expect("Bytes=5-6 ", 100, WEB_RANGE_PART, 5, 6);	/* the unit in any case, trailing space */
	expect("bytes=5-6, 8-9", 100, WEB_RANGE_NONE, 0, 0);	/* spaces after commas */
	expect("bytes=5 - 6", 100, WEB_RANGE_MALFORMED, 0, 0);
	expect("bytes=18446744073709551615-", 100, WEB_RANGE_UNSATISFIABLE, 0, 0);
	expect("bytes=99999999999999999999999-", 100, WEB_RANGE_UNSATISFIABLE, 0, 0);	/* saturates */
	expect("bytes=100-", 100, WEB_RANGE_UNSATISFIABLE, 0, 0);
	expect("bytes=-0", 100, WEB_RANGE_UNSATISFIABLE, 0, 0);
	expect("bytes=0-", 0, WEB_RANGE_UNSATISFIABLE, 0, 0);
	expect("bytes=-5", 0, WEB_RANGE_UNSATISFIABLE, 0, 0);
	expect("bytes=0-1,5-6", 100, WEB_RANGE_NONE, 0, 0);	/* several: the whole body */
	expect("items=0-5", 100, WEB_RANGE_NONE, 0, 0);	/* another unit is ignored */
	expect("bytes=5-1", 100, WEB_RANGE_MALFORMED, 0, 0);
	expect("bytes=-", 100, WEB_RANGE_MALFORMED, 0, 0);
	expect("bytes=", 100, WEB_RANGE_MALFORMED, 0, 0);
	expect("bytes 0-5", 100, WEB_RANGE_MALFORMED, 0, 0);
	expect("bytes=a-b", 100, WEB_RANGE_MALFORMED, 0, 0);
	expect("bytes=1-2-3", 100, WEB_RANGE_MALFORMED, 0, 0);
	expect("bytes=0-1,", 100, WEB_RANGE_MALFORMED, 0, 0);
	expect("bytes=0-1;x", 100, WEB_RANGE_MALFORMED, 0, 0);
	expect("bytes=+1-2", 100, WEB_RANGE_MALFORMED, 0, 0);
	return tap_done();
}
