#include "pool.h"
#include "errbuf.h"
#include "progress.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX_JOBS 256

typedef struct pool
{
	const pool_task *task;
	pthread_mutex_t lock;
	int			next;
	bool		init_failed;
	char		init_err[TOOL_ERRLEN];
	progress	prog;
} pool;

static void *
worker(void *arg)
{
	pool	   *p = arg;
	const pool_task *t = p->task;
	char		err[TOOL_ERRLEN];
	void	   *state = NULL;

	if (t->init && !(state = t->init(t->ctx, err, sizeof(err))))
	{
		pthread_mutex_lock(&p->lock);
		p->init_failed = true;
		snprintf(p->init_err, sizeof(p->init_err), "%s", err);
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	for (;;)
	{
		int			item;
		int			rc;

		pthread_mutex_lock(&p->lock);
		item = p->init_failed ? t->n_items : p->next++;
		pthread_mutex_unlock(&p->lock);
		if (item >= t->n_items)
			break;
		err[0] = '\0';
		rc = t->run(t->ctx, state, item, err, sizeof(err));
		pthread_mutex_lock(&p->lock);
		if (rc != 0)
			fprintf(stderr, "%serror: %s\n", p->prog.tty ? "\n" : "", err);
		progress_step(&p->prog, rc != 0);
		pthread_mutex_unlock(&p->lock);
	}
	if (t->fini && state)
		t->fini(state);
	return NULL;
}

int
pool_run(const pool_task *t, char *err, size_t errlen)
{
	pool		p;
	pthread_t	tid[POOL_MAX_JOBS];
	int			jobs = t->jobs < 1 ? 1 : t->jobs > POOL_MAX_JOBS ? POOL_MAX_JOBS : t->jobs;
	int			started = 0;

	memset(&p, 0, sizeof(p));
	p.task = t;
	pthread_mutex_init(&p.lock, NULL);
	if (jobs > t->n_items)
		jobs = t->n_items > 0 ? t->n_items : 1;
	progress_start(&p.prog, t->n_items, t->what);
	for (int i = 0; i < jobs; i++)
		if (pthread_create(&tid[i], NULL, worker, &p) == 0)
			started++;
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&p.lock);
	if (started == 0)
		return is_fail(err, errlen, "cannot start worker threads");
	if (p.init_failed)
		return is_fail(err, errlen, "%s", p.init_err);
	progress_finish(&p.prog);
	return p.prog.failed;
}
