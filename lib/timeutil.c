#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alloc.h"

static const char *const day_names[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const month_names[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date: the usual era
 * arithmetic, so no dependency on timegm or TZ. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int
parse_fields(const char *s, int *f, const char **rest)
{
	/* YYYY-MM-DDTHH:MM:SS */
	if (!digits(s, 4, &f[0]) || s[4] != '-' || !digits(s + 5, 2, &f[1]) || s[7] != '-' ||
	    !digits(s + 8, 2, &f[2]) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &f[3]) ||
	    s[13] != ':' || !digits(s + 14, 2, &f[4]) || s[16] != ':' || !digits(s + 17, 2, &f[5]))
		return -1;
	*rest = s + 19;
	return 0;
}

int
pca_time_parse(const char *s, int64_t *ms, struct pca_err *err)
{
	int f[6], frac_ms = 0, oh, om, offset = 0;
	const char *p;

	if (strnlen(s, 20) < 20 || parse_fields(s, f, &p) < 0)
		return pca_err_set(err, "not an RFC 3339 date-time");
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > days_in_month(f[0], f[1]) || f[3] > 23 ||
	    f[4] > 59 || f[5] > 60)
		return pca_err_set(err, "not an RFC 3339 date-time (field out of range)");
	if (*p == '.') {
		int n = 0;
		for (p++; isdigit((unsigned char)*p); p++, n++)
			if (n < 3)
				frac_ms = frac_ms * 10 + (*p - '0');
		if (n == 0)
			return pca_err_set(err, "not an RFC 3339 date-time");
		for (; n < 3; n++)
			frac_ms *= 10;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		offset = 0;
	} else if ((*p == '+' || *p == '-') && digits(p + 1, 2, &oh) && p[3] == ':' &&
	    digits(p + 4, 2, &om) && p[6] == '\0' && oh <= 23 && om <= 59) {
		offset = (oh * 60 + om) * (*p == '-' ? -1 : 1);
	} else {
		return pca_err_set(err, "not an RFC 3339 date-time (bad time zone offset)");
	}
	if (f[5] == 60) { /* a leap second: the last instant of that minute */
		f[5] = 59;
		frac_ms = 999;
	}
	*ms = ((days_from_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5]) -
	    (int64_t)offset * 60) * 1000 + frac_ms;
	return 0;
}

static void
split_ms(int64_t ms, int64_t *days, int *secs_of_day, int *millis)
{
	int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);

	*millis = (int)(ms - s * 1000);
	*days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
	*secs_of_day = (int)(s - *days * 86400);
}

void
pca_time_format(struct pca_buf *out, int64_t ms)
{
	int64_t days, y;
	int sod, millis, m, d;

	split_ms(ms, &days, &sod, &millis);
	civil_from_days(days, &y, &m, &d);
	pca_buf_addf(out, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d, sod / 3600,
	    sod / 60 % 60, sod % 60, millis);
}

int64_t
pca_time_add_months(int64_t ms, int months)
{
	int64_t days, y, total;
	int sod, millis, m, d;

	split_ms(ms, &days, &sod, &millis);
	civil_from_days(days, &y, &m, &d);
	total = y * 12 + (m - 1) + months;
	y = total >= 0 ? total / 12 : -((-total + 11) / 12);
	m = (int)(total - y * 12) + 1;
	if (d > days_in_month(y, m))
		d = days_in_month(y, m);
	return (days_from_civil(y, m, d) * 86400 + sod) * 1000 + millis;
}

int64_t
pca_time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
pca_duration_format(struct pca_buf *out, int64_t ms)
{
	int64_t s = ms < 0 ? 0 : (ms + 500) / 1000;

	if (s >= 3600)
		pca_buf_addf(out, "%lldh %02lldm %02llds", (long long)(s / 3600),
		    (long long)(s / 60 % 60), (long long)(s % 60));
	else if (s >= 60)
		pca_buf_addf(out, "%lldm %02llds", (long long)(s / 60), (long long)(s % 60));
	else
		pca_buf_addf(out, "%llds", (long long)s);
}

void
pca_offset_format(struct pca_buf *out, int64_t ms)
{
	int64_t s = ms < 0 ? 0 : ms / 1000;

	if (s >= 3600)
		pca_buf_addf(out, "%lld:%02lld:%02lld", (long long)(s / 3600),
		    (long long)(s / 60 % 60), (long long)(s % 60));
	else
		pca_buf_addf(out, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
}

static int64_t
unit_ms(const char *u)
{
	static const struct { const char *name; int64_t ms; } units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(u, units[i].name) == 0)
			return units[i].ms;
	return -1;
}

int
pca_duration_parse(const char *s, int64_t *ms, struct pca_err *err)
{
	char *end;
	long long v;
	int64_t mult;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		return pca_err_set(err, "not a duration (use seconds, or a number with ms, s, m, h or d)");
	v = strtoll(s, &end, 10);
	mult = unit_ms(end);
	if (errno || mult < 0)
		return pca_err_set(err, "not a duration (use seconds, or a number with ms, s, m, h or d)");
	if (v > INT64_MAX / mult)
		return pca_err_set(err, "duration too large");
	*ms = v * mult;
	return 0;
}

int
pca_tz_select(const char *zone, struct pca_err *err)
{
	struct stat st;
	char *path;
	int found;

	if (!*zone || zone[0] == '/' || strstr(zone, "..") || strchr(zone, ':'))
		return pca_err_set(err, "\"%s\" is not an IANA time zone name", zone);
	if (strcmp(zone, "UTC") != 0) {
		path = pca_asprintf("/usr/share/zoneinfo/%s", zone);
		found = stat(path, &st) == 0 && S_ISREG(st.st_mode);
		free(path);
		if (!found)
			return pca_err_set(err, "unknown time zone \"%s\" (not in /usr/share/zoneinfo)", zone);
	}
	setenv("TZ", zone, 1);
	tzset();
	return 0;
}

void
pca_time_local(int64_t ms, struct pca_local_time *lt)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	struct tm tm;

	localtime_r(&t, &tm);
	snprintf(lt->date, sizeof lt->date, "%s %d %s %d", day_names[tm.tm_wday], tm.tm_mday,
	    month_names[tm.tm_mon], tm.tm_year + 1900);
	snprintf(lt->day, sizeof lt->day, "%d %s %d", tm.tm_mday, month_names[tm.tm_mon],
	    tm.tm_year + 1900);
	snprintf(lt->time, sizeof lt->time, "%02d:%02d", tm.tm_hour, tm.tm_min);
	snprintf(lt->zone, sizeof lt->zone, "%s", tm.tm_zone ? tm.tm_zone : "UTC");
}
