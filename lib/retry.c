#include "retry.h"

#include <string.h>

#include <openssl/rand.h>

static const int64_t schedule[] = {
	5 * 60000LL, 30 * 60000LL, 2 * 3600000LL, 5 * 3600000LL, 10 * 3600000LL, 14 * 3600000LL,
	20 * 3600000LL, 24 * 3600000LL,
};

enum pca_retry_class
pca_retry_classify(const struct pca_http_outcome *o)
{
	if (o->status >= 200 && o->status < 300)
		return PCA_DELIVERED;
	if (o->status == 410)
		return PCA_GONE;
	if (o->status == 408 || o->status == 429 || o->status >= 500)
		return PCA_TEMPORARY;
	if (o->status)
		return PCA_PERMANENT;
	/* No answer. A refused address is configuration, not bad luck. */
	if (o->code && strcmp(o->code, "blocked_ip") == 0)
		return PCA_PERMANENT;
	return PCA_TEMPORARY;
}

double
pca_retry_jitter(double f)
{
	uint32_t r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		return 1.0;
	return 1.0 - f + 2.0 * f * ((double)r / 4294967295.0);
}

int64_t
pca_retry_quick_delay(int attempts)
{
	int64_t base = 1000;

	for (int i = 1; i < attempts && base < 60000; i++)
		base *= 4;
	return (int64_t)((double)base * pca_retry_jitter(0.2));
}

int64_t
pca_retry_spool_delay(int attempts, int64_t retry_after_ms)
{
	int step = attempts - PCA_RETRY_FIRST_RUN;
	int64_t base, d;

	if (step < 0)
		step = 0;
	if ((size_t)step >= sizeof schedule / sizeof *schedule)
		return -1;
	base = schedule[step];
	d = (int64_t)((double)base * pca_retry_jitter(0.2));
	if (retry_after_ms > d)
		d = retry_after_ms < 2 * base ? retry_after_ms : 2 * base;
	return d;
}
