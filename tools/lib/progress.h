/*
 * Progress report on stderr for long batch jobs: a redrawn bar when stderr is
 * a terminal, otherwise a plain line every PROGRESS_LOG_STEP of the work or
 * PROGRESS_LOG_SECONDS (so CI logs and `2> file` stay readable).
 * Not thread-safe: callers serialise progress_step.
 */
#ifndef INSTSIM_PROGRESS_H
#define INSTSIM_PROGRESS_H

#include <stdbool.h>

#define PROGRESS_LOG_STEP 0.1
#define PROGRESS_LOG_SECONDS 30.0

typedef struct progress
{
	const char *what;			/* unit, e.g. "tracks" */
	int			total;
	int			done;
	int			failed;
	double		t0;
	double		last_log;
	int			last_logged;
	bool		tty;
} progress;

double		progress_now(void);
void		progress_start(progress *p, int total, const char *what);
void		progress_step(progress *p, bool failed);
/* Ends the bar's line and prints the totals and wall time. */
void		progress_finish(progress *p);

#endif
