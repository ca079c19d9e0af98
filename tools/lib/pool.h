/*
 * Runs independent items (tracks) on a few threads with a progress report.
 * Each worker owns a state made by init (e.g. a FluidSynth renderer, which is
 * not thread-safe and costly to create), so items share nothing and results
 * do not depend on the number of jobs.  A failing item is reported on stderr
 * and counted, and the others go on: one broken MIDI file must not cost a
 * whole corpus.
 */
#ifndef INSTSIM_POOL_H
#define INSTSIM_POOL_H

#include <stddef.h>

typedef struct pool_task
{
	int			n_items;
	int			jobs;
	const char *what;			/* progress unit, e.g. "tracks" */
	void	   *ctx;
	/* may be NULL; returns the worker's state or NULL with err set */
	void	   *(*init) (void *ctx, char *err, size_t errlen);
	void		(*fini) (void *state);
	/* 0, or -1 with err naming the item */
	int			(*run) (void *ctx, void *state, int item, char *err, size_t errlen);
} pool_task;

/* Number of failed items, or -1 when a worker could not start (err set). */
int			pool_run(const pool_task *t, char *err, size_t errlen);

#endif
