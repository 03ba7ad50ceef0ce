/* Many deliveries at once over one libcurl multi handle.
 *
 * The sender adds batches in input order: a batch is one record and the
 * jobs it needs (one per action, or per recipient). A job makes attempts:
 * the sender's start() gives an easy handle for the next attempt, finish()
 * looks at how it went and marks the job done or sets when to try again.
 * At most `parallel` transfers run at once; waiting jobs sleep on a timer
 * without holding a slot. complete() is called for each batch whose jobs
 * are all done, strictly in the order the batches were added, so the
 * output stays in input order however the transfers finish.
 *
 * Times given to callbacks are monotonic milliseconds (pca_dispatch_now),
 * not wall-clock time.
 */
#ifndef PCA_DISPATCH_H
#define PCA_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

struct pca_batch;

struct pca_job {
	void *ud;            /* the sender's */
	int64_t not_before;  /* set by the sender: do not start before this time */
	bool done;           /* set by the sender: no more attempts */
	/* the dispatcher's */
	struct pca_batch *batch;
	struct pca_job *next;
	size_t heap_pos;
};

struct pca_dispatch_ops {
	/* Begin the next attempt: return an easy handle to run, or NULL after
	 * setting job->done (finished without a transfer) or job->not_before to
	 * a later time (not yet: pacing, or a retry). */
	CURL *(*start)(void *ctx, struct pca_job *job, int64_t now);
	/* The attempt ended with rc. The handle is out of the multi handle and
	 * belongs to the sender again. Set job->done, or job->not_before. */
	void (*finish)(void *ctx, struct pca_job *job, CURL *easy, CURLcode rc, int64_t now);
	/* All jobs of the batch are done; in the order batches were added. */
	void (*complete)(void *ctx, void *batch_ud);
};

struct pca_dispatch;

struct pca_dispatch *pca_dispatch_new(int parallel, const struct pca_dispatch_ops *ops, void *ctx);
/* Run each transfer in a worker thread (workers.h) instead of the shared
 * multi handle: for protocols whose transfers block inside libcurl. Call
 * before adding anything. */
void pca_dispatch_use_threads(struct pca_dispatch *d);
void pca_dispatch_free(struct pca_dispatch *d);

int64_t pca_dispatch_now(void);

/* Add a batch. The jobs (n may be 0) stay owned by the caller, who must keep
 * them alive until complete() is called for the batch. A job already marked
 * done (skipped, or settled without sending) is not started. */
void pca_dispatch_add(struct pca_dispatch *d, void *batch_ud, struct pca_job **jobs, size_t n);

/* Run until fewer than `keep` batches are waiting (keep == 0: until none). */
int pca_dispatch_run(struct pca_dispatch *d, size_t keep);

/* One round: start what can start, wait at most max_wait_ms for progress
 * (or for fd, when fd >= 0, to become readable: *fd_ready says so), finish
 * what finished. */
int pca_dispatch_step(struct pca_dispatch *d, int max_wait_ms, int fd, bool *fd_ready);

/* Batches added and not yet completed. */
size_t pca_dispatch_waiting(const struct pca_dispatch *d);

#endif
