#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 30

double
progress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

void
progress_start(progress *p, int total, const char *what)
{
	p->what = what;
	p->total = total;
	p->done = 0;
	p->failed = 0;
	p->t0 = p->last_log = progress_now();
	p->last_logged = 0;
	p->tty = isatty(STDERR_FILENO);
}

static void
draw(progress *p, double elapsed)
{
	double		frac = p->total ? (double) p->done / p->total : 1.0;
	double		eta = p->done ? elapsed / p->done * (p->total - p->done) : 0.0;
	char		bar[BAR_WIDTH + 1];
	int			fill = (int) (frac * BAR_WIDTH);

	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r[%s] %d/%d %s  %.0f s  ETA %.0f s%s", bar, p->done,
			p->total, p->what, elapsed, eta, p->failed ? "  (failures)" : "");
	fflush(stderr);
}

void
progress_step(progress *p, bool failed)
{
	double		now = progress_now();

	p->done++;
	p->failed += failed;
	if (p->tty)
	{
		draw(p, now - p->t0);
		return;
	}
	if (p->done == p->total ||
		p->done - p->last_logged >= PROGRESS_LOG_STEP * p->total ||
		now - p->last_log >= PROGRESS_LOG_SECONDS)
	{
		fprintf(stderr, "%d/%d %s, %.1f s\n", p->done, p->total, p->what, now - p->t0);
		p->last_log = now;
		p->last_logged = p->done;
	}
}

void
progress_finish(progress *p)
{
	if (p->tty)
		fprintf(stderr, "\n");
	fprintf(stderr, "%d %s in %.1f s (%d failed)\n", p->done, p->what,
			progress_now() - p->t0, p->failed);
}
