#include "progress.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

static struct {
	bool on, drawn;
	int64_t started, last;
	pca_progress_fn *counts;
	void *ud;
} pg;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
pca_progress_start(bool quiet, pca_progress_fn *counts, void *ud)
{
	const char *term = getenv("TERM");

	pg.counts = counts;
	pg.ud = ud;
	pg.on = !quiet && isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
	pg.started = pg.last = now_ms();
	pg.drawn = false;
}

bool
pca_progress_shown(void)
{
	return pg.on;
}

static void
draw(int64_t now)
{
	struct pca_progress_counts n = { 0 }, *c = &n;
	double secs = (double)(now - pg.started) / 1000.0;

	pg.counts(pg.ud, c);
	/* \r and erase-to-end: the line is rewritten, never appended to. */
	fprintf(stderr, "\r\033[K%s: %lu read, %lu sent, %lu failed, %lu spooled", pca_tool_name(),
	    c->read, c->sent, c->failed, c->spooled);
	if (secs >= 0.5)
		fprintf(stderr, ", %.0f records/s", (double)c->done / secs);
	fflush(stderr);
	pg.drawn = true;
	pg.last = now;
}

void
pca_progress_tick(void)
{
	int64_t now;

	if (!pg.on)
		return;
	now = now_ms();
	if (now - pg.last >= 100 || !pg.drawn)
		draw(now);
}

void
pca_progress_hide(void)
{
	if (!pg.on || !pg.drawn)
		return;
	fputs("\r\033[K", stderr);
	pg.drawn = false;
}

void
pca_progress_finish(void)
{
	if (!pg.on)
		return;
	draw(now_ms());
	fputc('\n', stderr);
	fflush(stderr);
	pg.drawn = false;
	pg.on = false;
}
