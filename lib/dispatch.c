#include "dispatch.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "workers.h"

struct pca_batch {
	void *ud;
	size_t njobs, ndone;
	struct pca_batch *next;
};

struct pca_dispatch {
	CURLM *multi;
	const struct pca_dispatch_ops *ops;
	void *ctx;
	int parallel, running;
	struct pca_batch *head, *tail;   /* batches in input order */
	size_t nbatches;
	struct pca_job *ready, *ready_tail;
	struct pca_job **heap;           /* timers: min-heap on not_before */
	size_t nheap, heapcap;
	struct pca_workers *workers;     /* or NULL: transfers in `multi` */
};

int64_t
pca_dispatch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct pca_dispatch *
pca_dispatch_new(int parallel, const struct pca_dispatch_ops *ops, void *ctx)
{
	struct pca_dispatch *d = pca_calloc(1, sizeof *d);

	d->multi = curl_multi_init();
	if (!d->multi)
		pca_realloc(NULL, (size_t)-1);
	d->ops = ops;
	d->ctx = ctx;
	d->parallel = parallel > 0 ? parallel : 1;
	/* Keep a connection per transfer slot, so parallel requests to one
	 * receiver reuse their connections instead of reconnecting. */
	curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)d->parallel * 2);
	return d;
}

static void
wake_multi(void *ud)
{
	curl_multi_wakeup(ud);
}

void
pca_dispatch_use_threads(struct pca_dispatch *d)
{
	if (!d->workers)
		d->workers = pca_workers_new(d->parallel, wake_multi, d->multi);
}

void
pca_dispatch_free(struct pca_dispatch *d)
{
	struct pca_batch *b, *next;

	if (!d)
		return;
	pca_workers_free(d->workers);
	for (b = d->head; b; b = next) {
		next = b->next;
		free(b);
	}
	free(d->heap);
	curl_multi_cleanup(d->multi);
	free(d);
}

size_t
pca_dispatch_waiting(const struct pca_dispatch *d)
{
	return d->nbatches;
}

/* ---- timers ---- */

static void
heap_swap(struct pca_dispatch *d, size_t a, size_t b)
{
	struct pca_job *t = d->heap[a];

	d->heap[a] = d->heap[b];
	d->heap[b] = t;
	d->heap[a]->heap_pos = a;
	d->heap[b]->heap_pos = b;
}

static void
heap_push(struct pca_dispatch *d, struct pca_job *j)
{
	size_t i;

	if (d->nheap == d->heapcap) {
		d->heapcap = d->heapcap ? d->heapcap * 2 : 64;
		d->heap = pca_reallocarray(d->heap, d->heapcap, sizeof *d->heap);
	}
	i = d->nheap++;
	d->heap[i] = j;
	j->heap_pos = i;
	while (i > 0 && d->heap[(i - 1) / 2]->not_before > d->heap[i]->not_before) {
		heap_swap(d, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct pca_job *
heap_pop(struct pca_dispatch *d)
{
	struct pca_job *top = d->heap[0];
	size_t i = 0, c;

	d->heap[0] = d->heap[--d->nheap];
	d->heap[0]->heap_pos = 0;
	for (;;) {
		c = 2 * i + 1;
		if (c >= d->nheap)
			break;
		if (c + 1 < d->nheap && d->heap[c + 1]->not_before < d->heap[c]->not_before)
			c++;
		if (d->heap[i]->not_before <= d->heap[c]->not_before)
			break;
		heap_swap(d, i, c);
		i = c;
	}
	return top;
}

/* ---- jobs and batches ---- */

static void
push_ready(struct pca_dispatch *d, struct pca_job *j)
{
	j->next = NULL;
	if (d->ready_tail)
		d->ready_tail->next = j;
	else
		d->ready = j;
	d->ready_tail = j;
}

static struct pca_job *
pop_ready(struct pca_dispatch *d)
{
	struct pca_job *j = d->ready;

	if (j) {
		d->ready = j->next;
		if (!d->ready)
			d->ready_tail = NULL;
	}
	return j;
}

/* Returns how many batches it handed back. */
static size_t
complete_in_order(struct pca_dispatch *d)
{
	struct pca_batch *b;
	size_t n = 0;

	while ((b = d->head) && b->ndone == b->njobs) {
		d->head = b->next;
		if (!d->head)
			d->tail = NULL;
		d->nbatches--;
		d->ops->complete(d->ctx, b->ud);
		free(b);
		n++;
	}
	return n;
}

/* After start() or finish(): the job is done, or waits for its time. */
static void
settle(struct pca_dispatch *d, struct pca_job *j, int64_t now)
{
	if (j->done) {
		j->batch->ndone++;
		return;
	}
	if (j->not_before <= now)
		push_ready(d, j);
	else
		heap_push(d, j);
}

void
pca_dispatch_add(struct pca_dispatch *d, void *batch_ud, struct pca_job **jobs, size_t n)
{
	struct pca_batch *b = pca_calloc(1, sizeof *b);

	b->ud = batch_ud;
	b->njobs = n;
	if (d->tail)
		d->tail->next = b;
	else
		d->head = b;
	d->tail = b;
	d->nbatches++;
	for (size_t i = 0; i < n; i++) {
		jobs[i]->batch = b;
		if (jobs[i]->done)
			b->ndone++; /* settled before it started: skipped, or known */
		else
			push_ready(d, jobs[i]);
	}
}

static void
start_ready(struct pca_dispatch *d, int64_t now)
{
	struct pca_job *j;
	CURL *e;

	while (d->nheap && d->heap[0]->not_before <= now)
		push_ready(d, heap_pop(d));
	while (d->running < d->parallel && (j = pop_ready(d))) {
		e = d->ops->start(d->ctx, j, now);
		if (e) {
			curl_easy_setopt(e, CURLOPT_PRIVATE, j);
			if (d->workers)
				pca_workers_submit(d->workers, e, j);
			else
				curl_multi_add_handle(d->multi, e);
			d->running++;
			continue;
		}
		/* Not started: done, or deferred; never straight back into the
		 * ready list, which would spin. */
		if (!j->done && j->not_before <= now)
			j->not_before = now + 1;
		settle(d, j, now);
	}
}

static void
finished(struct pca_dispatch *d, struct pca_job *j, CURL *e, CURLcode rc)
{
	d->running--;
	d->ops->finish(d->ctx, j, e, rc, pca_dispatch_now());
	settle(d, j, pca_dispatch_now());
}

static void
collect_finished(struct pca_dispatch *d)
{
	CURLMsg *msg;
	int left;
	void *tag;
	CURL *e;
	CURLcode rc;

	while (d->workers && pca_workers_collect(d->workers, &e, &tag, &rc))
		finished(d, tag, e, rc);
	while ((msg = curl_multi_info_read(d->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		e = msg->easy_handle;
		rc = msg->data.result;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&tag);
		curl_multi_remove_handle(d->multi, e);
		finished(d, tag, e, rc);
	}
}

static int
wait_time(const struct pca_dispatch *d, int max_wait_ms, int64_t now)
{
	int64_t w = max_wait_ms;

	if (d->ready && d->running < d->parallel)
		return 0;
	if (d->nheap && d->heap[0]->not_before - now < w)
		w = d->heap[0]->not_before - now;
	return w < 0 ? 0 : (int)w;
}

int
pca_dispatch_step(struct pca_dispatch *d, int max_wait_ms, int fd, bool *fd_ready)
{
	struct curl_waitfd extra = { .fd = fd, .events = CURL_WAIT_POLLIN };
	int still, numfds;
	int64_t now = pca_dispatch_now();

	if (fd_ready)
		*fd_ready = false;
	start_ready(d, now);
	if (curl_multi_perform(d->multi, &still) != CURLM_OK)
		return -1;
	collect_finished(d);
	/* Records just finished go back to the caller at once; and with
	 * nothing running, ready or timed, there is nothing to wait for. */
	if (complete_in_order(d) > 0 || (d->running == 0 && !d->ready && d->nheap == 0 && fd < 0))
		return 0;
	start_ready(d, pca_dispatch_now());
	if (curl_multi_poll(d->multi, fd >= 0 ? &extra : NULL, fd >= 0 ? 1 : 0,
	    wait_time(d, max_wait_ms, pca_dispatch_now()), &numfds) != CURLM_OK)
		return -1;
	if (fd >= 0 && fd_ready && (extra.revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)))
		*fd_ready = true;
	if (curl_multi_perform(d->multi, &still) != CURLM_OK)
		return -1;
	collect_finished(d);
	complete_in_order(d);
	return 0;
}

int
pca_dispatch_run(struct pca_dispatch *d, size_t keep)
{
	while (d->nbatches > 0 && d->nbatches >= (keep ? keep : 1))
		if (pca_dispatch_step(d, 1000, -1, NULL) < 0)
			return -1;
	return 0;
}
