#include "web_range.h"

#include <stdbool.h>
#include <stddef.h>
#include <strings.h>

/* Decimal digits at *p; positions past UINT64_MAX saturate (they are past any end). */
static bool
number(const char **p, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	while (*s >= '0' && *s <= '9')
	{
		unsigned	d = (unsigned) (*s++ - '0');

		*v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
	}
	if (s == *p)
		return false;
	*p = s;
	return true;
}

static void
skip_space(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* One range-spec up to ',' or the end; has_first false for a suffix. */
static bool
spec(const char **p, bool *has_first, uint64_t *a, bool *has_last, uint64_t *b)
{
	skip_space(p);
	*has_first = number(p, a);
	if (**p != '-')
		return false;
	(*p)++;
	*has_last = number(p, b);
	skip_space(p);
	if (!*has_first && !*has_last)
		return false;
	return !(*has_first && *has_last && *b < *a);
}

web_range_kind
web_range_parse(const char *header, uint64_t length, uint64_t *first, uint64_t *last)
{
	const char *p = header;
	bool		has_first = false,
				has_last = false;
	uint64_t	a = 0,
				b = 0;
	int			n = 0;

	if (!header)
		return WEB_RANGE_NONE;
	skip_space(&p);
	if (strncasecmp(p, "bytes", 5) != 0)
		return WEB_RANGE_NONE;
	p += 5;
	skip_space(&p);
	if (*p++ != '=')
		return WEB_RANGE_MALFORMED;
	for (;;)
	{
		uint64_t	x,
					y;
		bool		f,
					l;

		if (!spec(&p, &f, &x, &l, &y))
			return WEB_RANGE_MALFORMED;
		if (n++ == 0)
			a = x, b = y, has_first = f, has_last = l;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			return WEB_RANGE_MALFORMED;
	}
	if (n > 1)
		return WEB_RANGE_NONE;
	if (!has_first)
	{
		/* the last b bytes */
		if (b == 0 || length == 0)
			return WEB_RANGE_UNSATISFIABLE;
		*first = b >= length ? 0 : length - b;
		*last = length - 1;
		return WEB_RANGE_PART;
	}
	if (a >= length)
		return WEB_RANGE_UNSATISFIABLE;
	*first = a;
	*last = has_last && b < length ? b : length - 1;
	return WEB_RANGE_PART;
}
