/*
 * Workers wait on a generation counter: a run publishes fn/arg, bumps the
 * generation and wakes everyone; the caller then works as worker 0 and waits
 * until the count of finished helpers reaches n - 1.
 *
 * Every wait spins a little before it sleeps (in is_workers_sync: before it
 * yields the core, without sleeping, until the last worker arrives):
 * a thread woken from a condition variable takes tens of microseconds to run,
 * more than a short phase's share of work, so with sleeping alone two threads
 * ran one-image inference no faster than one.  WAIT_SPINS pause instructions
 * are some 50-100 us, little lost on an oversubscribed machine.
 */
#include "workers.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct helper
{
	is_workers *team;
	int			id;
	pthread_t	thread;
} helper;

struct is_workers
{
	int			n;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t done;
	unsigned long generation;
	int			finished;
	int			bar_count;		/* is_workers_sync: arrivals in this phase */
	unsigned	bar_phase;
	int			quit;
	is_work_fn	fn;
	void	   *arg;
	int			started;
	helper	   *helpers;
};

#define WAIT_SPINS 2000

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void *
helper_main(void *p)
{
	helper	   *h = p;
	is_workers *w = h->team;
	unsigned long seen = 0;

	for (;;)
	{
		is_work_fn	fn;
		void	   *arg;

		for (int i = 0; i < WAIT_SPINS && __atomic_load_n(&w->generation, __ATOMIC_ACQUIRE) == seen &&
			 !__atomic_load_n(&w->quit, __ATOMIC_ACQUIRE); i++)
			cpu_relax();
		pthread_mutex_lock(&w->lock);
		while (w->generation == seen && !w->quit)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->quit)
		{
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		seen = w->generation;
		fn = w->fn;
		arg = w->arg;
		pthread_mutex_unlock(&w->lock);

		fn(arg, h->id, w->n);

		pthread_mutex_lock(&w->lock);
		if (__atomic_add_fetch(&w->finished, 1, __ATOMIC_RELEASE) == w->n - 1)
			pthread_cond_signal(&w->done);
		pthread_mutex_unlock(&w->lock);
	}
}

is_workers *
is_workers_create(int n, char *err, size_t errlen)
{
	is_workers *w;

	if (n < 1 || n > 256)
	{
		snprintf(err, errlen, "%d threads, want 1..256", n);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->helpers = calloc(n, sizeof(helper))))
	{
		free(w);
		snprintf(err, errlen, "out of memory for %d workers", n);
		return NULL;
	}
	w->n = n;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->done, NULL);
	for (int i = 1; i < n; i++)
	{
		int			rc;

		w->helpers[i].team = w;
		w->helpers[i].id = i;
		rc = pthread_create(&w->helpers[i].thread, NULL, helper_main, &w->helpers[i]);
		if (rc != 0)
		{
			snprintf(err, errlen, "cannot start worker thread: %s", strerror(rc));
			is_workers_free(w);
			return NULL;
		}
		w->started = i;
	}
	return w;
}

void
is_workers_free(is_workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	/* atomic stores, under the lock: helpers also read them while spinning */
	__atomic_store_n(&w->quit, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (int i = 1; i <= w->started; i++)
		pthread_join(w->helpers[i].thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->done);
	free(w->helpers);
	free(w);
}

int
is_workers_count(const is_workers *w)
{
	return w->n;
}

void
is_workers_run(is_workers *w, is_work_fn fn, void *arg)
{
	if (w->n > 1)
	{
		pthread_mutex_lock(&w->lock);
		w->fn = fn;
		w->arg = arg;
		__atomic_store_n(&w->finished, 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&w->generation, 1, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&w->wake);
		pthread_mutex_unlock(&w->lock);
	}
	fn(arg, 0, w->n);
	if (w->n > 1)
	{
		for (int i = 0; i < WAIT_SPINS &&
			 __atomic_load_n(&w->finished, __ATOMIC_ACQUIRE) < w->n - 1; i++)
			cpu_relax();
		pthread_mutex_lock(&w->lock);
		while (w->finished < w->n - 1)
			pthread_cond_wait(&w->done, &w->lock);
		pthread_mutex_unlock(&w->lock);
	}
}

void
is_workers_sync(is_workers *w)
{
	unsigned	phase;

	if (w->n == 1)
		return;
	phase = __atomic_load_n(&w->bar_phase, __ATOMIC_ACQUIRE);
	if (__atomic_add_fetch(&w->bar_count, 1, __ATOMIC_ACQ_REL) == w->n)
	{
		__atomic_store_n(&w->bar_count, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&w->bar_phase, phase + 1, __ATOMIC_RELEASE);
		return;
	}
	for (int i = 0; __atomic_load_n(&w->bar_phase, __ATOMIC_ACQUIRE) == phase; i++)
		if (i < WAIT_SPINS)
			cpu_relax();
		else
			sched_yield();
}
