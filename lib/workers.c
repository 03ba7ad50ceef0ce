#include "workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "alloc.h"

struct work {
	CURL *easy;
	void *tag;
	CURLcode rc;
	struct work *next;
};

struct queue {
	struct work *head, *tail;
};

struct pca_workers {
	pthread_mutex_t mu;
	pthread_cond_t more;
	struct queue todo, done;
	pthread_t *threads;
	int max, nthreads, idle;
	size_t ntodo;                 /* jobs waiting for a thread */
	atomic_bool stopping;
	void (*wake)(void *ud);
	void *ud;
};

static void
enqueue(struct queue *q, struct work *w)
{
	w->next = NULL;
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
}

static struct work *
dequeue(struct queue *q)
{
	struct work *w = q->head;

	if (w) {
		q->head = w->next;
		if (!q->head)
			q->tail = NULL;
	}
	return w;
}

static int
stop_check(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct pca_workers *w = ud;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return atomic_load(&w->stopping) ? 1 : 0;
}

/* curl_easy_perform, but in a multi handle that outlives the transfer, so
 * the connection does too. */
static CURLcode
perform(struct pca_workers *w, CURLM *multi, CURL *easy)
{
	CURLcode rc = CURLE_OK;
	CURLMsg *msg;
	int still = 1, left;

	curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, stop_check);
	curl_easy_setopt(easy, CURLOPT_XFERINFODATA, w);
	if (curl_multi_add_handle(multi, easy) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	while (still) {
		if (curl_multi_perform(multi, &still) != CURLM_OK) {
			rc = CURLE_OUT_OF_MEMORY;
			break;
		}
		if (still && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			rc = CURLE_OUT_OF_MEMORY;
			break;
		}
	}
	while ((msg = curl_multi_info_read(multi, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy)
			rc = msg->data.result;
	curl_multi_remove_handle(multi, easy);
	return rc;
}

static void *
worker(void *arg)
{
	struct pca_workers *w = arg;
	CURLM *multi = curl_multi_init();
	struct work *job;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->todo.head && !atomic_load(&w->stopping))
			pthread_cond_wait(&w->more, &w->mu);
		if (atomic_load(&w->stopping))
			break;
		job = dequeue(&w->todo);
		w->ntodo--;
		w->idle--;
		pthread_mutex_unlock(&w->mu);
		job->rc = multi ? perform(w, multi, job->easy) : CURLE_OUT_OF_MEMORY;
		pthread_mutex_lock(&w->mu);
		enqueue(&w->done, job);
		w->idle++;
		w->wake(w->ud);
	}
	pthread_mutex_unlock(&w->mu);
	/* Closing the connections says QUIT to each server: here, side by
	 * side, rather than one after another in the caller. */
	if (multi)
		curl_multi_cleanup(multi);
	return NULL;
}

struct pca_workers *
pca_workers_new(int max, void (*wake)(void *ud), void *ud)
{
	struct pca_workers *w = pca_calloc(1, sizeof *w);

	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->more, NULL);
	w->max = max > 0 ? max : 1;
	w->threads = pca_calloc((size_t)w->max, sizeof *w->threads);
	atomic_init(&w->stopping, false);
	w->wake = wake;
	w->ud = ud;
	return w;
}

void
pca_workers_submit(struct pca_workers *w, CURL *easy, void *tag)
{
	struct work *job = pca_calloc(1, sizeof *job);

	job->easy = easy;
	job->tag = tag;
	pthread_mutex_lock(&w->mu);
	enqueue(&w->todo, job);
	w->ntodo++;
	/* A thread more only when more jobs wait than threads are free: a
	 * small run starts few. */
	if (w->ntodo > (size_t)w->idle && w->nthreads < w->max) {
		if (pthread_create(&w->threads[w->nthreads], NULL, worker, w) == 0) {
			w->nthreads++;
			w->idle++;
		} else if (w->nthreads == 0) {
			/* No thread at all, so the job would never run: out of
			 * resources, handled as out of memory. */
			pca_realloc(NULL, (size_t)-1);
		}
	}
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->mu);
}

int
pca_workers_collect(struct pca_workers *w, CURL **easy, void **tag, CURLcode *rc)
{
	struct work *job;

	pthread_mutex_lock(&w->mu);
	job = dequeue(&w->done);
	pthread_mutex_unlock(&w->mu);
	if (!job)
		return 0;
	*easy = job->easy;
	*tag = job->tag;
	*rc = job->rc;
	free(job);
	return 1;
}

void
pca_workers_free(struct pca_workers *w)
{
	struct work *job;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stopping, true);
	pthread_cond_broadcast(&w->more);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	while ((job = dequeue(&w->todo)) || (job = dequeue(&w->done)))
		free(job);
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->mu);
	free(w->threads);
	free(w);
}
