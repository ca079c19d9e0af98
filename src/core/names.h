/*
 * Enumerations spelt as keywords (layer kinds, convolution kinds, input
 * kinds, mining, rate schedules): each keeps a table of names indexed by
 * its values, and these two lookups serve every such table.
 */
#ifndef INSTSIM_NAMES_H
#define INSTSIM_NAMES_H

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

#endif							/* INSTSIM_NAMES_H */
