#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "err.h"
#include "sms.h"
#include "sms_provider.h"
#include "tap.h"
#include "utf8.h"

/* A GSM-7 text and a UCS-2 one, each with the characters that forms and
 * JSON must escape: & = + space newline, and (UCS-2) an emoji. */
#define GSM_TEXT "Hi Ann & Bob: x=1+2 ok\nBye"
#define GSM_FORM "Hi%20Ann%20%26%20Bob%3A%20x%3D1%2B2%20ok%0ABye"
#define GSM_JSON "\"Hi Ann & Bob: x=1+2 ok\\nBye\""
#define UCS_TEXT "Caf\xC3\xA9 \xE2\x98\x95 & more=1+1\n\xF0\x9F\x98\x80"
#define UCS_FORM "Caf%C3%A9%20%E2%98%95%20%26%20more%3D1%2B1%0A%F0%9F%98%80"
#define UCS_JSON "\"Caf\xC3\xA9 \xE2\x98\x95 & more=1+1\\n\xF0\x9F\x98\x80\""

#define TO "+14155550123"
#define SID "AC0123456789abcdef0123456789abcdef"

static struct pca_sms_message
msg(const char *from, const char *text, enum pca_sms_encoding enc, size_t segs)
{
	struct pca_sms_message m = { TO, from, text, strlen(text), enc, segs, "c-1", "sms-1" };

	return m;
}

static bool
contains(const char *hay, size_t len, const char *needle)
{
	return hay && memmem(hay, len, needle, strlen(needle)) != NULL;
}

/* The secret in none of its spellings in the shown request. */
static void
no_secret(struct pca_sms_request *r, const char *secret, const char *enc, const char *what)
{
	ok(!contains(r->shown.data, r->shown.len, secret), "%s: secret not shown", what);
	if (enc)
		ok(!contains(r->shown.data, r->shown.len, enc), "%s: encoded secret not shown",
		    what);
}

static void
headers_are(struct pca_sms_request *r, const char *const *want, const char *what)
{
	size_t n = 0, w = 0;
	bool same = true;

	while (r->headers && r->headers[n])
		n++;
	while (want[w])
		w++;
	for (size_t i = 0; i < n && i < w; i++)
		if (strcmp(r->headers[i], want[i]) != 0)
			same = false;
	if (!ok(same && n == w, "%s: headers", what))
		for (size_t i = 0; i < n; i++)
			printf("#   got header %s\n", r->headers[i]);
}

/* ---- names ---- */

static void
test_names(void)
{
	struct pca_sms_provider p = { 0 };
	char *s;

	is_str(pca_sms_provider_name(PCA_SMS_TWILIO), "twilio", "name twilio");
	is_str(pca_sms_provider_name(PCA_SMS_HTTP), "http", "name http");
	is_int(pca_sms_provider_kind("vonage"), PCA_SMS_VONAGE, "kind vonage");
	is_int(pca_sms_provider_kind("sns"), PCA_SMS_SNS, "kind sns");
	is_int(pca_sms_provider_kind("Twilio"), -1, "kind is case-sensitive");
	is_int(pca_sms_provider_kind("plivo"), -1, "kind unknown");
	p.kind = PCA_SMS_TWILIO;
	is_str(s = pca_sms_provider_default_base(&p), "https://api.twilio.com", "base twilio");
	free(s);
	p.kind = PCA_SMS_VONAGE;
	is_str(s = pca_sms_provider_default_base(&p), "https://rest.nexmo.com", "base vonage");
	free(s);
	p.kind = PCA_SMS_TELNYX;
	is_str(s = pca_sms_provider_default_base(&p), "https://api.telnyx.com", "base telnyx");
	free(s);
	p.kind = PCA_SMS_SNS;
	p.region = "ap-southeast-2";
	is_str(s = pca_sms_provider_default_base(&p), "https://sns.ap-southeast-2.amazonaws.com",
	    "base sns");
	free(s);
}

/* Everything config.c may allocate, freed (ASan says whether it leaks). */
static void
test_provider_free(void)
{
	struct pca_sms_provider p = { 0 };

	p.kind = PCA_SMS_HTTP;
	p.base_url = pca_strdup("x");
	p.account_sid = pca_strdup("x");
	p.api_key = pca_strdup("x");
	p.messaging_service_sid = pca_strdup("x");
	p.messaging_profile_id = pca_strdup("x");
	p.region = pca_strdup("x");
	p.access_key_id = pca_strdup("x");
	p.status_callback = pca_strdup("x");
	p.url = pca_strdup("x");
	p.method = pca_strdup("PUT");
	p.message_id_path = pca_strdup("a.b");
	p.fields = pca_calloc(2, sizeof *p.fields);
	p.fields[0].name = pca_strdup("n");
	p.fields[0].value = pca_strdup("v");
	p.nfields = 1;
	p.headers = pca_calloc(1, sizeof *p.headers);
	p.nheaders = 0;
	pca_sms_provider_free(&p);
	ok(!p.url && !p.fields && p.nfields == 0, "provider free clears the struct");
	pca_sms_provider_free(&p);
	pca_sms_provider_free(NULL);
	ok(1, "provider free twice and NULL");
}

/* ---- twilio ---- */

static void
test_twilio(void)
{
	struct pca_sms_provider p = { .kind = PCA_SMS_TWILIO, .account_sid = SID };
	struct pca_sms_message m = msg("+14155550100", GSM_TEXT, PCA_SMS_GSM7, 1);
	struct pca_sms_request r;
	struct pca_err err = PCA_ERR_INIT;
	const char *secret = "f00dface/+token";
	static const char *const form_hdr[] = { "Content-Type: application/x-www-form-urlencoded",
		NULL };

	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), 0, "twilio gsm: builds");
	is_str(r.url, "https://api.twilio.com/2010-04-01/Accounts/" SID "/Messages.json",
	    "twilio gsm: url");
	is_str(r.method, "POST", "twilio gsm: method");
	headers_are(&r, form_hdr, "twilio gsm");
	is_str(r.body.data, "To=%2B14155550123&From=%2B14155550100&Body=" GSM_FORM,
	    "twilio gsm: body");
	is_str(r.username, SID, "twilio gsm: user is the account sid");
	is_str(r.password, secret, "twilio gsm: password is the auth token");
	ok(r.aws_sigv4 == NULL, "twilio gsm: no sigv4");
	is_str(r.shown.data, "POST https://api.twilio.com/2010-04-01/Accounts/" SID
	    "/Messages.json\nAuthorization: Basic ***\n"
	    "Content-Type: application/x-www-form-urlencoded\n\n"
	    "To=%2B14155550123&From=%2B14155550100&Body=" GSM_FORM, "twilio gsm: shown");
	no_secret(&r, secret, "f00dface%2F%2Btoken", "twilio gsm");
	pca_sms_request_free(&r);
	ok(r.url == NULL && r.headers == NULL && r.password == NULL, "twilio: request freed");

	p.base_url = "http://127.0.0.1:8080//";
	p.api_key = "SK0123456789abcdef0123456789abcdef";
	p.messaging_service_sid = "MG0123456789abcdef0123456789abcdef";
	p.status_callback = "https://example.com/cb?x=1&y=2";
	m = msg("+14155550100", UCS_TEXT, PCA_SMS_UCS2, 2);
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), 0, "twilio ucs2: builds");
	is_str(r.url, "http://127.0.0.1:8080/2010-04-01/Accounts/" SID "/Messages.json",
	    "twilio ucs2: base url without its trailing slashes");
	is_str(r.body.data, "To=%2B14155550123"
	    "&MessagingServiceSid=MG0123456789abcdef0123456789abcdef"
	    "&Body=" UCS_FORM "&StatusCallback=https%3A%2F%2Fexample.com%2Fcb%3Fx%3D1%26y%3D2",
	    "twilio ucs2: service instead of From, status callback");
	is_str(r.username, "SK0123456789abcdef0123456789abcdef", "twilio: API key is the user");
	no_secret(&r, secret, "f00dface%2F%2Btoken", "twilio ucs2");
	pca_sms_request_free(&r);

	p.messaging_service_sid = NULL;
	m.from = NULL;
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), -1,
	    "twilio: no sender fails");
	is_str(err.msg, "twilio: no sender: give from or messaging_service_sid",
	    "twilio: no sender message");
	ok(r.url == NULL && r.body.len == 0 && r.shown.len == 0, "twilio: nothing left on error");
	m.from = "+14155550100";
	is_int(pca_sms_request_build(&p, &m, NULL, NULL, &r, &err), -1, "twilio: no token fails");
	is_str(err.msg, "twilio: no auth token", "twilio: no token message");
	is_int(pca_sms_request_build(&p, &m, "abc123\n", NULL, &r, &err), -1,
	    "twilio: token with a newline fails");
	ok(err.msg && !strstr(err.msg, "abc123"), "twilio: the error does not quote the token");
	pca_err_clear(&err);
}

static void
test_twilio_reply(void)
{
	struct pca_sms_provider p = { .kind = PCA_SMS_TWILIO, .account_sid = SID };
	struct pca_sms_reply r;
	const char *ok201 = "{\"account_sid\":\"" SID "\",\"api_version\":\"2010-04-01\","
	    "\"body\":\"Hi\",\"date_created\":\"Thu, 24 Aug 2023 05:01:45 +0000\","
	    "\"date_sent\":null,\"direction\":\"outbound-api\",\"error_code\":null,"
	    "\"error_message\":null,\"from\":\"+14155550100\",\"messaging_service_sid\":null,"
	    "\"num_media\":\"0\",\"num_segments\":\"1\",\"price\":null,\"price_unit\":\"USD\","
	    "\"sid\":\"SM1f0e8ae6ade43cb3c0ce4525424e404f\",\"status\":\"queued\","
	    "\"subresource_uris\":{\"media\":\"/2010-04-01/Accounts/" SID "/Messages/"
	    "SM1f0e8ae6ade43cb3c0ce4525424e404f/Media.json\"},\"to\":\"+14155550123\"}";
	const char *priced = "{\"sid\":\"SMaaaa\",\"status\":\"accepted\",\"num_segments\":2,"
	    "\"price\":\"-0.01580\",\"price_unit\":\"USD\",\"error_code\":null}";
	const char *failed = "{\"sid\":\"SMbbbb\",\"status\":\"failed\",\"num_segments\":\"1\","
	    "\"error_code\":30007,\"error_message\":\"Message filtered\"}";
	const char *e21211 = "{\"code\": 21211, \"message\": \"The 'To' number +15555550100 is "
	    "not a valid phone number.\", "
	    "\"more_info\": \"https://www.twilio.com/docs/errors/21211\", "
	    "\"status\": 400}";
	const char *e20429 = "{\"code\":20429,\"message\":\"Too Many Requests\","
	    "\"more_info\":\"https://www.twilio.com/docs/errors/20429\",\"status\":429}";
	const char *e20003 = "{\"code\":20003,\"message\":\"Authenticate\","
	    "\"more_info\":\"https://www.twilio.com/docs/errors/20003\",\"status\":401}";

	pca_sms_reply_parse(&p, 201, ok201, strlen(ok201), &r);
	is_int(r.verdict, PCA_SMS_ACCEPTED, "twilio 201: accepted");
	is_str(r.message_id, "SM1f0e8ae6ade43cb3c0ce4525424e404f", "twilio 201: sid");
	is_str(r.status, "queued", "twilio 201: status");
	is_int(r.segments, 1, "twilio 201: num_segments as a string");
	ok(r.price == NULL && r.error_code == NULL, "twilio 201: no price yet, no error");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 201, priced, strlen(priced), &r);
	is_str(r.price, "-0.01580 USD", "twilio 201: price with its unit");
	is_int(r.segments, 2, "twilio 201: num_segments as a number");
	is_str(r.status, "accepted", "twilio 201: accepted by a service");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 201, failed, strlen(failed), &r);
	is_int(r.verdict, PCA_SMS_REJECTED, "twilio 201 with error_code: rejected");
	is_str(r.error_code, "30007", "twilio 201 with error_code: code");
	is_str(r.error_message, "Message filtered", "twilio 201 with error_code: message");
	is_str(r.message_id, "SMbbbb", "twilio 201 with error_code: sid kept");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 400, e21211, strlen(e21211), &r);
	is_int(r.verdict, PCA_SMS_REJECTED, "twilio 400 21211: rejected");
	is_str(r.error_code, "21211", "twilio 400 21211: code");
	is_str(r.error_message, "The 'To' number +15555550100 is not a valid phone number.",
	    "twilio 400 21211: message");
	is_str(r.more_info, "https://www.twilio.com/docs/errors/21211", "twilio 400: more_info");
	ok(r.message_id == NULL, "twilio 400: no sid");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 429, e20429, strlen(e20429), &r);
	is_int(r.verdict, PCA_SMS_RETRY, "twilio 429 20429: retry");
	is_str(r.error_code, "20429", "twilio 429: code");
	pca_sms_reply_free(&r);
	pca_sms_reply_parse(&p, 400, e20429, strlen(e20429), &r);
	is_int(r.verdict, PCA_SMS_RETRY, "twilio code 20429 on another status: retry");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 401, e20003, strlen(e20003), &r);
	is_int(r.verdict, PCA_SMS_REJECTED, "twilio 401 20003: rejected");
	is_str(r.error_message, "Authenticate", "twilio 401: message");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 503, "<html><body>Service\r\nUnavailable</body></html>", 47, &r);
	is_int(r.verdict, PCA_SMS_RETRY, "twilio 503 html: retry");
	is_str(r.error_message, "<html><body>Service  Unavailable</body></html>",
	    "twilio 503 html: quoted, line breaks as spaces");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 201, "", 0, &r);
	is_int(r.verdict, PCA_SMS_ACCEPTED, "twilio 201 empty: accepted");
	ok(r.message_id == NULL && r.error_message == NULL, "twilio 201 empty: no id");
	pca_sms_reply_free(&r);
	pca_sms_reply_parse(&p, 201, "{\"sid\": \"SMcut", 14, &r);
	is_int(r.verdict, PCA_SMS_ACCEPTED, "twilio 201 truncated json: accepted");
	ok(r.message_id == NULL, "twilio 201 truncated json: no id");
	pca_sms_reply_free(&r);
	pca_sms_reply_parse(&p, 200, "[1,2]", 5, &r);
	is_int(r.verdict, PCA_SMS_ACCEPTED, "twilio 200 array: accepted");
	pca_sms_reply_free(&r);
	pca_sms_reply_parse(&p, 400, NULL, 0, &r);
	is_int(r.verdict, PCA_SMS_REJECTED, "twilio 400 no body: rejected");
	is_str(r.error_message, "HTTP 400 with an empty answer", "twilio 400 no body: message");
	pca_sms_reply_free(&r);
	pca_sms_reply_parse(&p, 301, "moved", 5, &r);
	is_int(r.verdict, PCA_SMS_REJECTED, "twilio 301: rejected (redirects are not followed)");
	pca_sms_reply_free(&r);
}

/* ---- vonage ---- */

static void
test_vonage(void)
{
	struct pca_sms_provider p = { .kind = PCA_SMS_VONAGE, .api_key = "a1b2c3d4" };
	struct pca_sms_message m = msg("AcmeCo", GSM_TEXT, PCA_SMS_GSM7, 1);
	struct pca_sms_request r;
	struct pca_err err = PCA_ERR_INIT;
	const char *secret = "Vs3cr3t/+=&x";
	static const char *const form_hdr[] = { "Content-Type: application/x-www-form-urlencoded",
		NULL };

	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), 0, "vonage gsm: builds");
	is_str(r.url, "https://rest.nexmo.com/sms/json", "vonage gsm: url");
	headers_are(&r, form_hdr, "vonage gsm");
	is_str(r.body.data, "api_key=a1b2c3d4&api_secret=Vs3cr3t%2F%2B%3D%26x&from=AcmeCo"
	    "&to=14155550123&text=" GSM_FORM, "vonage gsm: body, to without +, no type");
	ok(r.username == NULL && r.password == NULL, "vonage: no basic auth");
	is_str(r.shown.data, "POST https://rest.nexmo.com/sms/json\n"
	    "Content-Type: application/x-www-form-urlencoded\n\n"
	    "api_key=a1b2c3d4&api_secret=***&from=AcmeCo&to=14155550123&text=" GSM_FORM,
	    "vonage gsm: shown masks api_secret");
	no_secret(&r, secret, "Vs3cr3t%2F%2B%3D%26x", "vonage gsm");
	pca_sms_request_free(&r);

	m = msg("+14155550100", UCS_TEXT, PCA_SMS_UCS2, 2);
	p.base_url = "http://127.0.0.1:9999/";
	p.status_callback = "https://example.com/dlr";
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), 0, "vonage ucs2: builds");
	is_str(r.url, "http://127.0.0.1:9999/sms/json", "vonage ucs2: base url");
	is_str(r.body.data, "api_key=a1b2c3d4&api_secret=Vs3cr3t%2F%2B%3D%26x&from=%2B14155550100"
	    "&to=14155550123&text=" UCS_FORM "&type=unicode"
	    "&callback=https%3A%2F%2Fexample.com%2Fdlr",
	    "vonage ucs2: type=unicode, callback");
	no_secret(&r, secret, "Vs3cr3t%2F%2B%3D%26x", "vonage ucs2");
	pca_sms_request_free(&r);

	m.from = NULL;
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), -1, "vonage: no from fails");
	is_str(err.msg, "vonage: no sender: give from", "vonage: no from message");
	pca_err_clear(&err);
}

static void
vonage_case(long st, const char *body, enum pca_sms_verdict v, const char *code,
	const char *message, const char *what)
{
	struct pca_sms_provider p = { .kind = PCA_SMS_VONAGE };
	struct pca_sms_reply r;
	char name[128];

	pca_sms_reply_parse(&p, st, body, strlen(body), &r);
	snprintf(name, sizeof name, "%s: verdict", what);
	is_int(r.verdict, v, name);
	snprintf(name, sizeof name, "%s: code", what);
	is_str(r.error_code, code, name);
	snprintf(name, sizeof name, "%s: message", what);
	is_str(r.error_message, message, name);
	pca_sms_reply_free(&r);
}

static void
test_vonage_reply(void)
{
	struct pca_sms_provider p = { .kind = PCA_SMS_VONAGE };
	struct pca_sms_reply r;
	const char *one = "{\"message-count\":\"1\",\"messages\":[{\"to\":\"447700900000\","
	    "\"message-id\":\"0A0000000123ABCD1\",\"status\":\"0\",\"remaining-balance\":"
	    "\"3.14159265\",\"message-price\":\"0.03330000\",\"network\":\"12345\","
	    "\"client-ref\":\"my-personal-reference\",\"account-ref\":\"customer1234\"}]}";
	const char *two = "{\"message-count\":\"2\",\"messages\":["
	    "{\"to\":\"447700900000\",\"message-id\":\"0A0000000123ABCD1\",\"status\":\"0\","
	    "\"message-price\":\"0.03330000\",\"network\":\"23410\"},"
	    "{\"to\":\"447700900000\",\"message-id\":\"0A0000000123ABCD2\",\"status\":\"0\","
	    "\"message-price\":\"0.03330000\",\"network\":\"23410\"}]}";
	const char *partial = "{\"message-count\":\"2\",\"messages\":["
	    "{\"to\":\"447700900000\",\"message-id\":\"0A00000001\",\"status\":\"0\"},"
	    "{\"status\":\"1\",\"error-text\":\"Throttled\"}]}";

	pca_sms_reply_parse(&p, 200, one, strlen(one), &r);
	is_int(r.verdict, PCA_SMS_ACCEPTED, "vonage status 0: accepted");
	is_str(r.message_id, "0A0000000123ABCD1", "vonage status 0: message-id");
	is_str(r.status, "0", "vonage status 0: status");
	is_int(r.segments, 1, "vonage status 0: message-count");
	is_str(r.price, "0.03330000", "vonage status 0: price");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 200, two, strlen(two), &r);
	is_int(r.verdict, PCA_SMS_ACCEPTED, "vonage two parts: accepted");
	is_str(r.message_id, "0A0000000123ABCD1", "vonage two parts: first message-id");
	is_int(r.segments, 2, "vonage two parts: message-count");
	is_str(r.price, "0.06660000", "vonage two parts: prices summed");
	pca_sms_reply_free(&r);

	vonage_case(200, "{\"message-count\":\"1\",\"messages\":[{\"status\":\"1\","
	    "\"error-text\":\"Throttled\"}]}", PCA_SMS_RETRY, "1", "Throttled", "vonage status 1");
	vonage_case(200, "{\"message-count\":\"1\",\"messages\":[{\"status\":\"3\","
	    "\"error-text\":\"to address is not numeric\"}]}", PCA_SMS_REJECTED, "3",
	    "to address is not numeric", "vonage status 3");
	vonage_case(200, "{\"message-count\":\"1\",\"messages\":[{\"status\":\"4\","
	    "\"error-text\":\"Bad Credentials\"}]}", PCA_SMS_REJECTED, "4", "Bad Credentials",
	    "vonage status 4");
	vonage_case(200, "{\"message-count\":\"1\",\"messages\":[{\"status\":\"5\","
	    "\"error-text\":\"Internal Error\"}]}", PCA_SMS_RETRY, "5", "Internal Error",
	    "vonage status 5");
	vonage_case(200, "{\"message-count\":\"1\",\"messages\":[{\"status\":\"15\","
	    "\"error-text\":\"Illegal Sender Address - rejected\"}]}", PCA_SMS_REJECTED, "15",
	    "Illegal Sender Address - rejected", "vonage status 15");
	vonage_case(200, "{\"message-count\":\"1\",\"messages\":[{\"status\":\"29\"}]}",
	    PCA_SMS_REJECTED, "29", "non-whitelisted destination", "vonage status 29 without text");
	vonage_case(401, "{\"type\":\"https://developer.nexmo.com/api-errors#unauthorized\","
	    "\"title\":\"Unauthorized\",\"detail\":\"You did not provide correct credentials.\"}",
	    PCA_SMS_REJECTED, "https://developer.nexmo.com/api-errors#unauthorized",
	    "You did not provide correct credentials.", "vonage 401 problem json");
	vonage_case(500, "oops", PCA_SMS_RETRY, NULL, "oops", "vonage 500 garbage");
	vonage_case(429, "", PCA_SMS_RETRY, NULL, "HTTP 429 with an empty answer",
	    "vonage 429 empty");

	pca_sms_reply_parse(&p, 200, partial, strlen(partial), &r);
	is_int(r.verdict, PCA_SMS_REJECTED, "vonage part sent, part throttled: not retried");
	is_str(r.message_id, "0A00000001", "vonage partial: id of the part sent");
	is_str(r.error_code, "1", "vonage partial: code of the failed part");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 200, "{}", 2, &r);
	is_int(r.verdict, PCA_SMS_ACCEPTED, "vonage 200 without messages: accepted");
	ok(r.message_id == NULL, "vonage 200 without messages: no id");
	pca_sms_reply_free(&r);
}

/* ---- telnyx ---- */

static void
test_telnyx(void)
{
	struct pca_sms_provider p = { .kind = PCA_SMS_TELNYX };
	struct pca_sms_message m = msg("+14155550100", GSM_TEXT, PCA_SMS_GSM7, 1);
	struct pca_sms_request r;
	struct pca_err err = PCA_ERR_INIT;
	const char *secret = "KEY0123_abcXYZ";
	static const char *const hdr[] = { "Authorization: Bearer KEY0123_abcXYZ",
		"Content-Type: application/json", NULL };

	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), 0, "telnyx gsm: builds");
	is_str(r.url, "https://api.telnyx.com/v2/messages", "telnyx gsm: url");
	headers_are(&r, hdr, "telnyx gsm");
	is_str(r.body.data, "{\"from\":\"+14155550100\",\"to\":\"" TO "\",\"text\":" GSM_JSON "}",
	    "telnyx gsm: body");
	ok(r.username == NULL && r.password == NULL, "telnyx: no basic auth");
	is_str(r.shown.data, "POST https://api.telnyx.com/v2/messages\n"
	    "Authorization: Bearer ***\nContent-Type: application/json\n\n"
	    "{\"from\":\"+14155550100\",\"to\":\"" TO "\",\"text\":" GSM_JSON "}",
	    "telnyx gsm: shown");
	no_secret(&r, secret, NULL, "telnyx gsm");
	pca_sms_request_free(&r);

	p.messaging_profile_id = "400176d2-6a8b-4b5a-8f8e-7f2a3c1d0e9f";
	p.status_callback = "https://example.com/telnyx";
	m = msg(NULL, UCS_TEXT, PCA_SMS_UCS2, 2);
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), 0, "telnyx ucs2: builds");
	is_str(r.body.data, "{\"to\":\"" TO "\",\"text\":" UCS_JSON ",\"messaging_profile_id\":"
	    "\"400176d2-6a8b-4b5a-8f8e-7f2a3c1d0e9f\","
	    "\"webhook_url\":\"https://example.com/telnyx\"}",
	    "telnyx ucs2: no from with a profile, webhook_url");
	no_secret(&r, secret, NULL, "telnyx ucs2");
	pca_sms_request_free(&r);

	p.messaging_profile_id = NULL;
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), -1,
	    "telnyx: neither from nor profile fails");
	is_str(err.msg, "telnyx: no sender: give from or messaging_profile_id", "telnyx: message");
	m.from = "+14155550100";
	is_int(pca_sms_request_build(&p, &m, "KEY\r\nX-Evil: 1", NULL, &r, &err), -1,
	    "telnyx: key with CR LF refused (header injection)");
	ok(err.msg && !strstr(err.msg, "X-Evil"), "telnyx: error does not quote the key");
	pca_err_clear(&err);
}

static void
test_telnyx_reply(void)
{
	struct pca_sms_provider p = { .kind = PCA_SMS_TELNYX };
	struct pca_sms_reply r;
	const char *ok200 = "{\"data\":{\"record_type\":\"message\",\"direction\":\"outbound\","
	    "\"id\":\"40385f64-5717-4562-b3fc-2c963f66afa6\",\"type\":\"SMS\","
	    "\"messaging_profile_id\":\"4000eba1-a0c0-4563-9925-b25e842a7cb6\","
	    "\"from\":{\"phone_number\":\"+18445550001\",\"carrier\":\"Telnyx\","
	    "\"line_type\":\"VoIP\"},"
	    "\"to\":[{\"phone_number\":\"+18665550001\",\"status\":\"queued\",\"carrier\":"
	    "\"T-MOBILE USA, INC.\",\"line_type\":\"Wireless\"}],\"text\":\"Hello, World!\","
	    "\"media\":[],\"encoding\":\"GSM-7\",\"parts\":1,\"tags\":[],"
	    "\"cost\":{\"amount\":\"0.0051\",\"currency\":\"USD\"},\"sent_at\":null,"
	    "\"errors\":[]}}";
	const char *nocost = "{\"data\":{\"id\":\"abc\",\"parts\":3,\"cost\":null,\"to\":[]}}";
	const char *e422 = "{\"errors\":[{\"code\":\"40310\",\"title\":\"Invalid 'to' address\","
	    "\"detail\":\"The 'to' address should be in E.164 format.\",\"source\":{\"pointer\":"
	    "\"/to\"},\"meta\":{\"url\":"
	    "\"https://developers.telnyx.com/docs/overview/errors/40310\"}}]}";
	const char *e429 = "{\"errors\":[{\"code\":\"10011\",\"title\":\"Too many requests\","
	    "\"detail\":\"Too many requests\"}]}";

	pca_sms_reply_parse(&p, 200, ok200, strlen(ok200), &r);
	is_int(r.verdict, PCA_SMS_ACCEPTED, "telnyx 200: accepted");
	is_str(r.message_id, "40385f64-5717-4562-b3fc-2c963f66afa6", "telnyx 200: id");
	is_str(r.status, "queued", "telnyx 200: status of the recipient");
	is_int(r.segments, 1, "telnyx 200: parts");
	is_str(r.price, "0.0051 USD", "telnyx 200: cost");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 200, nocost, strlen(nocost), &r);
	is_int(r.segments, 3, "telnyx 200 no cost: parts");
	ok(r.price == NULL && r.status == NULL, "telnyx 200 no cost: no price, no status");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 422, e422, strlen(e422), &r);
	is_int(r.verdict, PCA_SMS_REJECTED, "telnyx 422: rejected");
	is_str(r.error_code, "40310", "telnyx 422: code");
	is_str(r.error_message, "Invalid 'to' address: The 'to' address should be in E.164 format.",
	    "telnyx 422: title and detail");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 429, e429, strlen(e429), &r);
	is_int(r.verdict, PCA_SMS_RETRY, "telnyx 429: retry");
	is_str(r.error_code, "10011", "telnyx 429: code");
	is_str(r.error_message, "Too many requests", "telnyx 429: title once when same as detail");
	pca_sms_reply_free(&r);

	pca_sms_reply_parse(&p, 502, "{\"errors\":[]}", 13, &r);
	is_int(r.verdict, PCA_SMS_RETRY, "telnyx 502 empty errors: retry");
	is_str(r.error_message, "{\"errors\":[]}", "telnyx 502: body quoted");
	pca_sms_reply_free(&r);
}

/* ---- sns ---- */

#define SNS_ATTR1 "&MessageAttributes.entry.1.Name=AWS.SNS.SMS.SMSType" \
	"&MessageAttributes.entry.1.Value.DataType=String" \
	"&MessageAttributes.entry.1.Value.StringValue=Transactional"

static void
test_sns(void)
{
	struct pca_sms_provider p = { .kind = PCA_SMS_SNS, .region = "eu-west-1",
		.access_key_id = "AKIDEXAMPLE" };
	struct pca_sms_message m = msg("AcmeCo", GSM_TEXT, PCA_SMS_GSM7, 1);
	struct pca_sms_request r;
	struct pca_err err = PCA_ERR_INIT;
	const char *secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	const char *token = "FQoGZXIvYXdzEXAMPLE//token==";
	static const char *const hdr[] = { "Content-Type: application/x-www-form-urlencoded",
		"X-Amz-Security-Token: FQoGZXIvYXdzEXAMPLE//token==", NULL };
	static const char *const hdr1[] = { "Content-Type: application/x-www-form-urlencoded",
		NULL };

	is_int(pca_sms_request_build(&p, &m, secret, token, &r, &err), 0, "sns gsm: builds");
	is_str(r.url, "https://sns.eu-west-1.amazonaws.com/", "sns gsm: url");
	is_str(r.aws_sigv4, "aws:amz:eu-west-1:sns", "sns gsm: sigv4");
	is_str(r.username, "AKIDEXAMPLE", "sns gsm: user is the access key id");
	is_str(r.password, secret, "sns gsm: password is the secret key");
	headers_are(&r, hdr, "sns gsm");
	is_str(r.body.data, "Action=Publish&Version=2010-03-31&PhoneNumber=%2B14155550123"
	    "&Message=" GSM_FORM SNS_ATTR1 "&MessageAttributes.entry.2.Name=AWS.SNS.SMS.SenderID"
	    "&MessageAttributes.entry.2.Value.DataType=String"
	    "&MessageAttributes.entry.2.Value.StringValue=AcmeCo", "sns gsm: body with sender id");
	is_str(r.shown.data, "POST https://sns.eu-west-1.amazonaws.com/\n"
	    "Authorization: AWS4-HMAC-SHA256 ***\n"
	    "Content-Type: application/x-www-form-urlencoded\nX-Amz-Security-Token: ***\n\n"
	    "Action=Publish&Version=2010-03-31&PhoneNumber=%2B14155550123"
	    "&Message=" GSM_FORM SNS_ATTR1 "&MessageAttributes.entry.2.Name=AWS.SNS.SMS.SenderID"
	    "&MessageAttributes.entry.2.Value.DataType=String"
	    "&MessageAttributes.entry.2.Value.StringValue=AcmeCo", "sns gsm: shown");
	no_secret(&r, secret, "wJalrXUtnFEMI%2FK7MDENG%2BbPxRfiCYEXAMPLEKEY", "sns gsm");
	no_secret(&r, token, NULL, "sns gsm token");
	pca_sms_request_free(&r);

	m = msg(NULL, UCS_TEXT, PCA_SMS_UCS2, 2);
	p.base_url = "http://127.0.0.1:4566";
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), 0, "sns ucs2: builds");
	is_str(r.url, "http://127.0.0.1:4566/", "sns ucs2: base url");
	headers_are(&r, hdr1, "sns ucs2 without a session token");
	is_str(r.body.data, "Action=Publish&Version=2010-03-31&PhoneNumber=%2B14155550123"
	    "&Message=" UCS_FORM SNS_ATTR1, "sns ucs2: no sender, one attribute");
	pca_sms_request_free(&r);

	m.from = "+14155550100";
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), 0, "sns number: builds");
	ok(contains(r.body.data, r.body.len, "&MessageAttributes.entry.2.Name="
	    "AWS.MM.SMS.OriginationNumber&MessageAttributes.entry.2.Value.DataType=String"
	    "&MessageAttributes.entry.2.Value.StringValue=%2B14155550100"),
	    "sns number: origination number, not a sender id");
	pca_sms_request_free(&r);

	p.region = "eu-west-1/evil";
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), -1, "sns: bad region fails");
	is_str(err.msg, "sns: invalid region", "sns: bad region message");
	p.region = "eu-west-1";
	is_int(pca_sms_request_build(&p, &m, secret, "tok\nen", &r, &err), -1,
	    "sns: token with a newline fails");
	is_str(err.msg, "sns: the session token contains a control character",
	    "sns: token message");
	pca_err_clear(&err);
}

static void
sns_case(long st, const char *body, enum pca_sms_verdict v, const char *id, const char *code,
	const char *message, const char *what)
{
	struct pca_sms_provider p = { .kind = PCA_SMS_SNS };
	struct pca_sms_reply r;
	char name[128];

	pca_sms_reply_parse(&p, st, body, strlen(body), &r);
	snprintf(name, sizeof name, "%s: verdict", what);
	is_int(r.verdict, v, name);
	snprintf(name, sizeof name, "%s: message id", what);
	is_str(r.message_id, id, name);
	snprintf(name, sizeof name, "%s: code", what);
	is_str(r.error_code, code, name);
	snprintf(name, sizeof name, "%s: message", what);
	is_str(r.error_message, message, name);
	pca_sms_reply_free(&r);
}

#define SNS_ERR(type, code, msg) "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/" \
	"2010-03-31/\">\n  <Error>\n    <Type>" type "</Type>\n    <Code>" code "</Code>\n" \
	"    <Message>" msg "</Message>\n  </Error>\n" \
	"  <RequestId>9f2d1d0a-8b8e-5e2f-a3c4-0b1c2d3e4f50</RequestId>\n</ErrorResponse>\n"

static void
test_sns_reply(void)
{
	sns_case(200, "<PublishResponse xmlns=\"https://sns.amazonaws.com/doc/2010-03-31/\">\n"
	    "  <PublishResult>\n    <MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId>\n"
	    "  </PublishResult>\n  <ResponseMetadata>\n"
	    "    <RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0</RequestId>\n"
	    "  </ResponseMetadata>\n</PublishResponse>\n", PCA_SMS_ACCEPTED,
	    "567910cd-659e-55d4-8ccb-5aaf14679dc0", NULL, NULL, "sns publish");
	sns_case(400, SNS_ERR("Sender", "Throttling", "Rate exceeded"), PCA_SMS_RETRY, NULL,
	    "Throttling", "Rate exceeded", "sns throttling");
	sns_case(400, SNS_ERR("Sender", "InvalidParameter", "Invalid parameter: PhoneNumber "
	    "Reason: +1555 is not valid to publish to &amp; &lt;x&gt; &quot;q&quot; &apos;a&apos; "
	    "&#233;&#x1F600; &bogus; &#xD800;"), PCA_SMS_REJECTED, NULL, "InvalidParameter",
	    "Invalid parameter: PhoneNumber Reason: +1555 is not valid to publish to & <x> \"q\" "
	    "'a' \xC3\xA9\xF0\x9F\x98\x80 &bogus; &#xD800;", "sns invalid parameter, entities");
	sns_case(403, SNS_ERR("Sender", "SignatureDoesNotMatch", "The request signature we "
	    "calculated does not match the signature you provided."), PCA_SMS_REJECTED, NULL,
	    "SignatureDoesNotMatch", "The request signature we calculated does not match the "
	    "signature you provided.", "sns bad signature");
	sns_case(500, SNS_ERR("Receiver", "InternalError", "Internal"), PCA_SMS_RETRY, NULL,
	    "InternalError", "Internal", "sns internal error");
	sns_case(400, SNS_ERR("Sender", "AuthorizationError", "no"), PCA_SMS_REJECTED, NULL,
	    "AuthorizationError", "no", "sns authorization error");
	sns_case(502, SNS_ERR("Sender", "Whatever", "x"), PCA_SMS_RETRY, NULL, "Whatever", "x",
	    "sns 5xx with an unknown code: retry");
	sns_case(200, "<R><MessageIds>no</MessageIds><MessageId a=\"1\">yes</MessageId></R>",
	    PCA_SMS_ACCEPTED, "yes", NULL, NULL, "sns tag prefix is not the tag");
	sns_case(200, "<R><MessageId/></R>", PCA_SMS_ACCEPTED, NULL, NULL, NULL,
	    "sns empty id");
	sns_case(200, "<PublishResponse><MessageId>unclosed", PCA_SMS_ACCEPTED, NULL, NULL, NULL,
	    "sns unclosed id");
	sns_case(200, "garbage", PCA_SMS_ACCEPTED, NULL, NULL, NULL, "sns 200 garbage");
	sns_case(503, "", PCA_SMS_RETRY, NULL, NULL, "HTTP 503 with an empty answer",
	    "sns 503 empty");
	sns_case(400, "<MessageId", PCA_SMS_REJECTED, NULL, NULL, "<MessageId",
	    "sns 400 truncated tag");
}

/* ---- generic http ---- */

static void
test_http_json(void)
{
	struct pca_sms_field hdrs[] = { { "Authorization", "Token {{secret}}" },
		{ "X-Call", "{{call_id}}/{{action_id}}" } };
	struct pca_sms_field fields[] = { { "to", "{{to}}" }, { "body", "{{text}}" },
		{ "enc", "{{encoding}}/{{segments}}" }, { "key", "{{secret}}" } };
	struct pca_sms_provider p = { .kind = PCA_SMS_HTTP, .url = "http://127.0.0.1:9/send",
		.method = "PUT", .json = true, .fields = fields, .nfields = 4, .headers = hdrs,
		.nheaders = 2 };
	struct pca_sms_message m = msg(NULL, UCS_TEXT, PCA_SMS_UCS2, 2);
	struct pca_sms_request r;
	struct pca_err err = PCA_ERR_INIT;
	const char *secret = "tok\"en\\1";
	static const char *const hdr[] = { "Content-Type: application/json",
		"Authorization: Token tok\"en\\1", "X-Call: c-1/sms-1", NULL };

	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), 0, "http json: builds");
	is_str(r.url, "http://127.0.0.1:9/send", "http json: url");
	is_str(r.method, "PUT", "http json: method");
	headers_are(&r, hdr, "http json");
	is_str(r.body.data, "{\"to\":\"" TO "\",\"body\":" UCS_JSON ",\"enc\":\"UCS-2/2\","
	    "\"key\":\"tok\\\"en\\\\1\"}", "http json: body");
	is_str(r.shown.data, "PUT http://127.0.0.1:9/send\nContent-Type: application/json\n"
	    "Authorization: Token ***\nX-Call: c-1/sms-1\n\n{\"to\":\"" TO "\",\"body\":" UCS_JSON
	    ",\"enc\":\"UCS-2/2\",\"key\":\"***\"}", "http json: shown");
	no_secret(&r, secret, "tok\\\"en\\\\1", "http json");
	pca_sms_request_free(&r);
	pca_err_clear(&err);
}

static void
test_http_form(void)
{
	struct pca_sms_field hdrs[] = { { "content-type", "application/x-www-form-urlencoded; "
		"charset=utf-8" }, { "X-Key", "{{secret}}" } };
	struct pca_sms_field fields[] = { { "To", "{{to}}" }, { "Msg", "{{text}}" },
		{ "From", "{{from}}" }, { "Sig", "k={{secret}}&x" } };
	struct pca_sms_provider p = { .kind = PCA_SMS_HTTP, .url = "https://gw.example/api",
		.fields = fields, .nfields = 4, .headers = hdrs, .nheaders = 2 };
	struct pca_sms_message m = msg(NULL, GSM_TEXT, PCA_SMS_GSM7, 1);
	struct pca_sms_request r;
	struct pca_err err = PCA_ERR_INIT;
	const char *secret = "s e/cr+t";
	static const char *const hdr[] = { "content-type: application/x-www-form-urlencoded; "
		"charset=utf-8", "X-Key: s e/cr+t", NULL };

	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), 0, "http form: builds");
	is_str(r.method, "POST", "http form: POST by default");
	headers_are(&r, hdr, "http form: the configured content-type replaces ours");
	is_str(r.body.data, "To=%2B14155550123&Msg=" GSM_FORM "&From=&Sig=k%3Ds%20e%2Fcr%2Bt%26x",
	    "http form: body, no escaping of & in the text, null from empty");
	is_str(r.shown.data, "POST https://gw.example/api\ncontent-type: "
	    "application/x-www-form-urlencoded; charset=utf-8\nX-Key: ***\n\n"
	    "To=%2B14155550123&Msg=" GSM_FORM "&From=&Sig=k%3D***%26x", "http form: shown");
	no_secret(&r, secret, "s%20e%2Fcr%2Bt", "http form");
	pca_sms_request_free(&r);

	is_int(pca_sms_request_build(&p, &m, NULL, NULL, &r, &err), 0,
	    "http form: builds without a secret");
	is_str(r.body.data, "To=%2B14155550123&Msg=" GSM_FORM "&From=&Sig=k%3D%26x",
	    "http form: no secret renders empty");
	pca_sms_request_free(&r);
	pca_err_clear(&err);
}

static void
test_http_errors(void)
{
	struct pca_sms_field bad[] = { { "To", "{{to}}" }, { "Body", "Hello {{#to}}" } };
	struct pca_sms_field hbad[] = { { "X-A", "line1\nline2 {{secret}}" } };
	struct pca_sms_field hname[] = { { "X A", "v" } };
	struct pca_sms_field ok1[] = { { "Body", "{{text}}" } };
	struct pca_sms_provider p = { .kind = PCA_SMS_HTTP, .url = "https://gw.example/api",
		.fields = bad, .nfields = 2 };
	struct pca_sms_message m = msg("+14155550100", GSM_TEXT, PCA_SMS_GSM7, 1);
	struct pca_sms_request r;
	struct pca_err err = PCA_ERR_INIT;
	const char *secret = "hunter2secret";

	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), -1,
	    "http: template compile error fails");
	ok(err.msg && strncmp(err.msg, "http.form.Body:", 15) == 0,
	    "http: the error names the field (%s)", pca_err_msg(&err));
	ok(err.msg && !strstr(err.msg, secret), "http: the error does not quote the secret");
	ok(r.url == NULL && r.headers == NULL && r.body.len == 0, "http: nothing left on error");

	p.fields = ok1;
	p.nfields = 1;
	p.headers = hbad;
	p.nheaders = 1;
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), -1,
	    "http: a header with a line break fails");
	is_str(err.msg, "http.headers.X-A: the value has a line break or NUL",
	    "http: line break message");
	p.headers = hname;
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), -1,
	    "http: an invalid header name fails");
	is_str(err.msg, "http.headers.X A: invalid header name", "http: header name message");
	p.headers = NULL;
	p.nheaders = 0;
	p.method = "GET";
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), -1, "http: GET refused");
	p.method = NULL;
	p.url = NULL;
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), -1, "http: no url fails");
	is_str(err.msg, "http: no url", "http: no url message");
	p.url = "https://gw.example/api";
	m.to = NULL;
	is_int(pca_sms_request_build(&p, &m, secret, NULL, &r, &err), -1,
	    "http: no recipient fails");
	is_str(err.msg, "http: no recipient", "http: no recipient message");
	pca_err_clear(&err);
}

static void
http_case(const char *path, long st, const char *body, enum pca_sms_verdict v, const char *id,
	const char *message, const char *what)
{
	struct pca_sms_provider p = { .kind = PCA_SMS_HTTP, .message_id_path = (char *)path };
	struct pca_sms_reply r;
	char name[128];

	pca_sms_reply_parse(&p, st, body, strlen(body), &r);
	snprintf(name, sizeof name, "%s: verdict", what);
	is_int(r.verdict, v, name);
	snprintf(name, sizeof name, "%s: message id", what);
	is_str(r.message_id, id, name);
	snprintf(name, sizeof name, "%s: message", what);
	is_str(r.error_message, message, name);
	pca_sms_reply_free(&r);
}

static void
test_http_reply(void)
{
	struct pca_sms_provider p = { .kind = PCA_SMS_HTTP };
	struct pca_sms_reply r;
	struct pca_buf big = PCA_BUF_INIT;
	const char *nested = "{\"ok\":true,\"messages\":[{\"id\":\"abc-123\",\"status\":\"sent\"},"
	    "{\"id\":\"def-456\"}]}";

	http_case("messages.0.id", 200, nested, PCA_SMS_ACCEPTED, "abc-123", NULL,
	    "http nested id");
	http_case("messages.1.id", 201, nested, PCA_SMS_ACCEPTED, "def-456", NULL,
	    "http second item");
	http_case("messages.5.id", 200, nested, PCA_SMS_ACCEPTED, NULL, NULL,
	    "http index out of range");
	http_case("messages.x.id", 200, nested, PCA_SMS_ACCEPTED, NULL, NULL, "http bad index");
	http_case("result.id", 202, "{\"result\":{\"id\":12345}}", PCA_SMS_ACCEPTED, "12345", NULL,
	    "http numeric id");
	http_case("result.id", 200, "{\"result\":{\"id\":{\"a\":1}}}", PCA_SMS_ACCEPTED, NULL, NULL,
	    "http id that is an object");
	http_case("id", 200, "queued", PCA_SMS_ACCEPTED, NULL, NULL, "http 200 not json");
	http_case(NULL, 204, "", PCA_SMS_ACCEPTED, NULL, NULL, "http 204 without path");
	http_case("id", 400, "{\"error\":\"bad number\"}\n", PCA_SMS_REJECTED, NULL,
	    "{\"error\":\"bad number\"}", "http 400 quotes the body");
	http_case("id", 429, "slow down", PCA_SMS_RETRY, NULL, "slow down", "http 429");
	http_case("id", 500, "", PCA_SMS_RETRY, NULL, "HTTP 500 with an empty answer", "http 500");
	http_case("id", 404, "bad\x01\xff" "byte", PCA_SMS_REJECTED, NULL, "bad ?byte",
	    "http invalid bytes replaced");

	/* 199 ASCII bytes then a 2-byte character: the cut falls before it. */
	for (int i = 0; i < 199; i++)
		pca_buf_addc(&big, 'a');
	pca_buf_adds(&big, "\xC3\xA9 and much more text after the limit");
	pca_sms_reply_parse(&p, 422, big.data, big.len, &r);
	is_int(r.verdict, PCA_SMS_REJECTED, "http 422 long: rejected");
	is_int(r.error_message ? strlen(r.error_message) : 0, 199,
	    "http 422 long: cut to 200 bytes on a character boundary");
	ok(r.error_message && pca_utf8_valid(r.error_message, strlen(r.error_message), NULL),
	    "http 422 long: valid UTF-8");
	pca_sms_reply_free(&r);
	pca_buf_free(&big);
}

int
main(void)
{
	test_names();
	test_provider_free();
	test_twilio();
	test_twilio_reply();
	test_vonage();
	test_vonage_reply();
	test_telnyx();
	test_telnyx_reply();
	test_sns();
	test_sns_reply();
	test_http_json();
	test_http_form();
	test_http_errors();
	test_http_reply();
	return tap_done();
}
