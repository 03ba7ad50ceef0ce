/* Transfers that block inside libcurl, each in a thread of its own.
 *
 * libcurl's SMTP waits for the reply to the end of DATA inside
 * curl_multi_perform (curl issue 8555): in one multi handle, one slow server
 * stalls every transfer. Workers run such transfers side by side. Each
 * worker keeps a multi handle of its own, so its connections stay open for
 * its next transfer; libcurl cannot share one connection cache between
 * threads (curl issue 4915).
 *
 * Submitted handles belong to the pool until collected; the callbacks set on
 * them run in a worker thread and must touch only data of that transfer.
 */
#ifndef PCA_WORKERS_H
#define PCA_WORKERS_H

#include <stddef.h>

#include <curl/curl.h>

struct pca_workers;

/* At most max threads, started as work arrives. wake(ud) is called from a
 * worker each time a transfer finished (curl_multi_wakeup of the caller's
 * multi handle, say). */
struct pca_workers *pca_workers_new(int max, void (*wake)(void *ud), void *ud);

/* Stops the workers, after their current transfers (cut short: they stop at
 * libcurl's next progress check), and frees the pool. Handles never run
 * stay the caller's. */
void pca_workers_free(struct pca_workers *w);

void pca_workers_submit(struct pca_workers *w, CURL *easy, void *tag);

/* The next finished transfer, or 0 when none: *easy, *tag and *rc. */
int pca_workers_collect(struct pca_workers *w, CURL **easy, void **tag, CURLcode *rc);

#endif
