#include "parse_int.h"

#include <errno.h>
#include <stdlib.h>

int
parse_int(const char *s, int lo, int hi, int *v)
{
	char	   *end;
	long		x;

	errno = 0;
	x = strtol(s, &end, 10);
	if (errno || end == s || *end || x < lo || x > hi)
		return -1;
	*v = (int) x;
	return 0;
}
