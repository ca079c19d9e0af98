/*
 * Error reporting for the tool-side library: functions return 0 / -1 and
 * write a message a user can act on into the caller's buffer, so nothing in
 * tools/common prints or exits on its own.
 */
#ifndef INSTSIM_ERRBUF_H
#define INSTSIM_ERRBUF_H

#include <stddef.h>

#define TOOL_ERRLEN 512

/* printf into err (if not NULL); always returns -1 so callers can `return errf(...)`. */
int			errf(char *err, size_t errlen, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

#endif
