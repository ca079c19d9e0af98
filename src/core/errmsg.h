/*
 * Error reporting of the core: functions that can fail take (char *err,
 * size_t errlen) and write a one-line message there, so the server can wrap
 * it in ereport and the CLI tools can print it.
 */
#ifndef INSTSIM_ERRMSG_H
#define INSTSIM_ERRMSG_H

#include <stddef.h>

/* Formats the message into err (if err is not NULL) and returns -1. */
int			is_fail(char *err, size_t errlen, const char *fmt, ...)
			__attribute__((format(printf, 3, 4)));

#endif
