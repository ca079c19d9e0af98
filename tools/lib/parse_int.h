/*
 * Integer option values of the command-line tools: the whole string must be
 * a decimal number within [lo, hi].
 */
#ifndef INSTSIM_PARSE_INT_H
#define INSTSIM_PARSE_INT_H

/* 0 with *v set, or -1 when s is no such number (*v untouched). */
int			parse_int(const char *s, int lo, int hi, int *v);

#endif
