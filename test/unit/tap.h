/*
 * Minimal TAP producer for the C unit tests, so that prove runs and counts them
 * the same way as the PostgreSQL TAP tests.  Header-only: each test program is
 * one translation unit.
 */
#ifndef INSTSIM_TAP_H
#define INSTSIM_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int	tap_count;

static inline void tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int	tap_failed;

static inline void
tap_ok(int cond, const char *fmt, ...)
{
	va_list		ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Reports |got - want| <= tol with both values in the message when it fails. */
static inline void
tap_near(double got, double want, double tol, const char *what)
{
	int			ok = fabs(got - want) <= tol;

	tap_ok(ok, "%s", what);
	if (!ok)
		printf("#   got %.9g, want %.9g (tol %.3g)\n", got, want, tol);
}

static inline void
tap_diag(const char *fmt, ...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Prints the plan last (allowed by TAP) and returns the process exit code. */
static inline int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
