#include <string.h>

#include "timeutil.h"
#include "tap.h"

static int64_t
t(const char *s)
{
	int64_t ms = -42;
	struct pca_err e = PCA_ERR_INIT;

	if (pca_time_parse(s, &ms, &e) < 0)
		ms = -42;
	pca_err_clear(&e);
	return ms;
}

static void
fmt_is(int64_t ms, const char *want, const char *name)
{
	struct pca_buf b = PCA_BUF_INIT;

	pca_time_format(&b, ms);
	is_str(b.data, want, name);
	pca_buf_free(&b);
}

static void
dur_is(int64_t ms, const char *want)
{
	struct pca_buf b = PCA_BUF_INIT;

	pca_duration_format(&b, ms);
	is_str(b.data, want, want);
	pca_buf_free(&b);
}

static void
parse_fails(const char *s)
{
	struct pca_err e = PCA_ERR_INIT;
	int64_t ms;

	ok(pca_time_parse(s, &ms, &e) < 0 && strstr(pca_err_msg(&e), "RFC 3339"),
	    "refused: \"%s\" (%s)", s, pca_err_msg(&e));
	pca_err_clear(&e);
}

int
main(void)
{
	struct pca_err e = PCA_ERR_INIT;
	struct pca_local_time lt;
	int64_t ms;

	is_int(t("1970-01-01T00:00:00Z"), 0, "the epoch");
	is_int(t("2026-11-28T11:13:25.120Z"), 1795864405120LL, "a UTC time with milliseconds");
	is_int(t("2026-11-28T12:13:25.120+01:00"), 1795864405120LL, "an offset is applied");
	is_int(t("2026-11-28t06:13:25.1204567-05:00"), 1795864405120LL, "lowercase t, long fraction");
	is_int(t("2024-02-29T00:00:00z"), 1709164800000LL, "a leap day");
	is_int(t("2016-12-31T23:59:60Z"), 1483228799999LL, "a leap second is the minute's last instant");
	is_int(t("1969-12-31T23:59:59.500Z"), -500, "before the epoch");
	parse_fails("2026-11-28");
	parse_fails("2026-11-28T11:13:25");
	parse_fails("2026-02-29T00:00:00Z");
	parse_fails("2026-13-01T00:00:00Z");
	parse_fails("2026-11-28T24:00:00Z");
	parse_fails("2026-11-28T11:13:25.Z");
	parse_fails("2026-11-28T11:13:25+0100");
	parse_fails("2026-11-28 11:13:25Z");
	parse_fails("2026-11-28T11:13:25Zjunk");

	fmt_is(0, "1970-01-01T00:00:00.000Z", "format the epoch");
	fmt_is(1795864405120LL, "2026-11-28T11:13:25.120Z", "format round trip");
	fmt_is(-500, "1969-12-31T23:59:59.500Z", "format before the epoch");
	fmt_is(pca_time_add_months(t("2026-08-31T10:00:00Z"), 6), "2027-02-28T10:00:00.000Z",
	    "Aug 31 + 6 months is the last day of February");
	fmt_is(pca_time_add_months(t("2027-08-31T10:00:00Z"), 6), "2028-02-29T10:00:00.000Z",
	    "... of a leap February");
	fmt_is(pca_time_add_months(t("2026-11-28T11:13:25.120Z"), 6), "2027-05-28T11:13:25.120Z",
	    "six months after a call");

	dur_is(0, "0s");
	dur_is(45400, "45s");
	dur_is(168782, "2m 49s");
	dur_is(3725000, "1h 02m 05s");

	ok(pca_duration_parse("30s", &ms, &e) == 0 && ms == 30000, "30s");
	ok(pca_duration_parse("15", &ms, &e) == 0 && ms == 15000, "a bare number is seconds");
	ok(pca_duration_parse("2m", &ms, &e) == 0 && ms == 120000, "2m");
	ok(pca_duration_parse("1500ms", &ms, &e) == 0 && ms == 1500, "1500ms");
	ok(pca_duration_parse("5 minutes", &ms, &e) < 0, "words are refused");
	ok(pca_duration_parse("-5s", &ms, &e) < 0, "negative durations are refused");
	pca_err_clear(&e);

	ok(pca_tz_select("Mars/Olympus_Mons", &e) < 0, "an unknown zone is refused: %s",
	    pca_err_msg(&e));
	pca_err_clear(&e);
	ok(pca_tz_select("../../etc/passwd", &e) < 0, "a path is not a zone");
	pca_err_clear(&e);
	ok(pca_tz_select("Europe/Berlin", &e) == 0, "Europe/Berlin");
	pca_time_local(t("2026-11-28T11:13:25Z"), &lt);
	is_str(lt.date, "Sat 28 Nov 2026", "local date in Berlin");
	is_str(lt.time, "12:13", "local time in Berlin (CET, +1)");
	is_str(lt.zone, "CET", "zone abbreviation");
	pca_time_local(t("2026-07-01T11:13:25Z"), &lt);
	is_str(lt.time, "13:13", "summer time (+2)");
	ok(pca_tz_select("America/Los_Angeles", &e) == 0, "America/Los_Angeles");
	pca_time_local(t("2026-11-28T07:30:00Z"), &lt);
	is_str(lt.date, "Fri 27 Nov 2026", "the day before, in California");
	is_str(lt.day, "27 Nov 2026", "day without weekday");
	return tap_done();
}
