/*
 * Enumerations spelt as keywords (layer kinds, convolution kinds, input
 * kinds, mining, rate schedules): each keeps a table of names indexed by
 * its values, and these two lookups serve every such table.
 */
#ifndef INSTSIM_NAMES_H
#define INSTSIM_NAMES_H

#include <stdio.h>
#include <string.h>

#define IS_N_NAMES(table) ((int) (sizeof(table) / sizeof((table)[0])))

/* names[i], or "?" for a value outside the table (a corrupt enum). */
static inline const char *
is_name_of(const char *const *names, int n, int i)
{
	return i >= 0 && i < n && names[i] ? names[i] : "?";
}

/* The index of name in names[0..n) (exact, case-sensitive), or -1. */
static inline int
is_name_index(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (names[i] && strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

/*
 * "a, b or c" from names[0..n) into buf (truncated to len), for messages that
 * list the accepted words: built from the table, so it cannot fall behind it.
 */
static inline const char *
is_names_list(const char *const *names, int n, char *buf, size_t len)
{
	size_t		at = 0;

	if (len)
		buf[0] = '\0';
	for (int i = 0; i < n && at < len; i++)
	{
		int			k = snprintf(buf + at, len - at, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
								 is_name_of(names, n, i));

		if (k < 0)
			break;
		at += (size_t) k;
	}
	return buf;
}

#endif							/* INSTSIM_NAMES_H */
