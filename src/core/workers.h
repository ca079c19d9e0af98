/*
 * A fixed team of threads for data-parallel work (training phases, batched
 * inference): the caller's thread is
 * worker 0 and every run blocks until all workers have returned, so a step is
 * a sequence of parallel phases with the caller's serial code in between
 * (reductions in a fixed order keep results independent of scheduling).
 * Starting the threads is the only allocation; runs allocate nothing.
 */
#ifndef INSTSIM_WORKERS_H
#define INSTSIM_WORKERS_H

#include <stddef.h>

typedef struct is_workers is_workers;

/* fn(arg, id, n) runs once on every worker id in [0, n). */
typedef void (*is_work_fn) (void *arg, int id, int n);

/* n >= 1 workers (n - 1 threads).  NULL with a message on failure. */
is_workers *is_workers_create(int n, char *err, size_t errlen);
void		is_workers_free(is_workers *w);
int			is_workers_count(const is_workers *w);
void		is_workers_run(is_workers *w, is_work_fn fn, void *arg);

/* Inside a run: returns once every worker of the run has called it. */
void		is_workers_sync(is_workers *w);

/* The share [*lo, *hi) of n items that worker id of count takes. */
static inline void
is_work_range(int n, int id, int count, int *lo, int *hi)
{
	*lo = (int) ((long) n * id / count);
	*hi = (int) ((long) n * (id + 1) / count);
}

#endif
