#include "file_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

int
file_read(const char *path, size_t max_bytes, char **buf, size_t *len,
		  char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "rb");
	long		n;

	*buf = NULL;
	*len = 0;
	if (!f)
		return is_fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || (size_t) n > max_bytes ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return is_fail(err, errlen, "%s: unreadable or larger than %zu bytes", path, max_bytes);
	}
	*buf = malloc((size_t) n + 1);
	if (!*buf || fread(*buf, 1, (size_t) n, f) != (size_t) n)
	{
		fclose(f);
		free(*buf);
		*buf = NULL;
		return is_fail(err, errlen, "cannot read %s", path);
	}
	fclose(f);
	*len = (size_t) n;
	return 0;
}
