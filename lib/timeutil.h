/* Times and durations as the record and the messages use them.
 *
 * Internally a time is int64 milliseconds since the Unix epoch, UTC.
 */
#ifndef PCA_TIMEUTIL_H
#define PCA_TIMEUTIL_H

#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Parse an RFC 3339 date-time ("2026-11-28T11:13:25.120Z",
 * "2026-11-28t12:13:25+01:00"; fractions of any length, truncated to
 * milliseconds; leap second 60 accepted and counted as 59.999). */
int pca_time_parse(const char *s, int64_t *ms, struct pca_err *err);

/* "2026-11-28T11:13:25.120Z": UTC with milliseconds, as records are written. */
void pca_time_format(struct pca_buf *out, int64_t ms);

/* The same calendar time `months` months later; a day that does not exist
 * in the target month becomes its last day (Aug 31 + 6 months = Feb 28/29). */
int64_t pca_time_add_months(int64_t ms, int months);

/* Wall clock now. */
int64_t pca_time_now(void);

/* "2m 48s", "45s", "1h 02m 05s", "0s": how a person reads a call's length. */
void pca_duration_format(struct pca_buf *out, int64_t ms);

/* "1:05" or "1:02:05": an offset into a call, for transcript lines. */
void pca_offset_format(struct pca_buf *out, int64_t ms);

/* Parse a duration given in configuration: a whole number of seconds, or a
 * number with a unit ms, s, m, h, d ("1500ms", "30s", "5m", "2h"). */
int pca_duration_parse(const char *s, int64_t *ms, struct pca_err *err);

/* Select the IANA time zone used by pca_time_local ("Europe/Berlin",
 * "UTC"). The zone must exist in the system's zoneinfo. Process-wide: it sets
 * TZ, which nothing else in the suite reads. */
int pca_tz_select(const char *zone, struct pca_err *err);

struct pca_local_time {
	char date[64];  /* "Sat 28 Nov 2026" */
	char time[16];  /* "14:03" */
	char zone[16];  /* "CET" */
	char day[16];   /* "28 Nov 2026" */
};
/* Local calendar time in the selected zone, with English names whatever the
 * locale (messages must not change with the operator's LANG). */
void pca_time_local(int64_t ms, struct pca_local_time *lt);

#endif
