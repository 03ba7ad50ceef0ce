/* Unit tests of lib/mime.c. The expected outputs were worked out from
 * RFC 5322, 2045 and 2047 (Q or B: whichever is shorter; 78 columns, 76 on
 * lines with encoded-words, 63 encoded characters per word) and checked
 * against Python's email package. */
#include <stdint.h>
#include <string.h>

#include "mime.h"
#include "tap.h"

static struct pca_buf out;

static const char *
text(const char *name, const char *value)
{
	pca_buf_reset(&out);
	pca_mime_header_text(&out, name, value, strlen(value));
	return pca_buf_cstr(&out);
}

static void
test_header_text(void)
{
	is_str(text("Subject", "Hello"), "Subject: Hello\r\n", "plain ASCII as it is");
	is_str(text("Subject", ""), "Subject:\r\n", "empty value");
	is_str(text("Subject", "  x  "), "Subject: x\r\n", "outer spaces dropped");
	is_str(text("Subject", "Hi\r\nBcc: evil@x"), "Subject: Hi  Bcc: evil@x\r\n",
	    "CR LF become spaces: no injected header");
	is_str(text("Subject", "a\tb\x7f" "c\x01" "d"), "Subject: a b c d\r\n",
	    "tab, DEL and C0 controls become spaces");
	is_str(text("Subject", "Call from José García (+34 600 000 000)"),
	    "Subject: Call from =?UTF-8?B?Sm9zw6kgR2FyY8OtYQ==?= (+34 600 000 000)\r\n",
	    "a run of non-ASCII words is one B word (20 < 21 in Q)");
	is_str(text("Subject", "Hauptbahnhof Zürich"),
	    "Subject: Hauptbahnhof =?UTF-8?Q?Z=C3=BCrich?=\r\n",
	    "Q when shorter (11 < 12 in B)");
	is_str(text("Subject", "=?UTF-8?Q?x?="), "Subject: =?UTF-8?B?PT9VVEYtOD9RP3g/PQ==?=\r\n",
	    "text that looks like an encoded-word is encoded");
	is_str(text("Subject", "日本語のテキスト"), "Subject: =?UTF-8?B?5pel5pys6Kqe44Gu44OG44Kt44K544OI?=\r\n",
	    "CJK in B");
	is_str(text("Subject", "family 👨‍👩‍👧‍👦"),
	    "Subject: family =?UTF-8?B?8J+RqOKAjfCfkanigI3wn5Gn4oCN8J+Rpg==?=\r\n",
	    "emoji ZWJ sequence in one word");
	is_str(text("Subject", "a                    b"),
	    "Subject: a =?UTF-8?Q?___________________b?=\r\n",
	    "a long run of spaces travels inside an encoded-word");
	is_str(text("Subject", "bad \xff"), "Subject: bad =?UTF-8?B?77+9?=\r\n",
	    "invalid UTF-8 becomes U+FFFD");
	is_str(text("Subject", "word word word word word word word word word word word word word "
	    "word word word word word word word"),
	    "Subject: word word word word word word word word word word word word word word\r\n"
	    " word word word word word word\r\n",
	    "ASCII folds at 78 columns");
	is_str(text("Subject", "Звонок от Ивана Петрова: перезвоните, пожалуйста, до конца рабочего дня"),
	    "Subject: =?UTF-8?B?0JfQstC+0L3QvtC6INC+0YIg0JjQstCw0L3QsCA=?=\r\n"
	    " =?UTF-8?B?0J/QtdGC0YDQvtCy0LA6INC/0LXRgNC10LfQstC+0L3QuNGC0LUsIA==?=\r\n"
	    " =?UTF-8?B?0L/QvtC20LDQu9GD0LnRgdGC0LAsINC00L4g0LrQvtC90YbQsCA=?=\r\n"
	    " =?UTF-8?B?0YDQsNCx0L7Rh9C10LPQviDQtNC90Y8=?=\r\n",
	    "long Cyrillic: words of at most 75, split after spaces, folded");
	is_str(text("Sub:ject", "x"), "Sub-ject: x\r\n", "a colon in the name cannot start a value");
}

static void
test_header_text_limits(void)
{
	char big[1300];
	size_t i, start, longest = 0;
	const char *s;

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	s = text("Subject", big);
	ok(strncmp(s, "Subject: =?UTF-8?Q?", 19) == 0, "a word over 998 columns is encoded");
	for (i = 0, start = 0; s[i]; i++)
		if (s[i] == '\n') {
			longest = i - 1 - start > longest ? i - 1 - start : longest;
			start = i + 1;
		}
	ok(longest <= 76, "and folded into lines of at most 76 (%zu)", longest);

	big[500] = '\0';
	s = text("Subject", big);
	is_int(strlen(s), 9 + 500 + 2, "a 500-column word stays as it is");
}

static void
test_mailboxes(void)
{
	struct pca_mailbox two[] = {
		{ "Acme Calls", "calls@acme.example" },
		{ "Lee, Dana", "dana@example.com" },
	};
	struct pca_mailbox odd[] = {
		{ NULL, "owner@acme.example" },
		{ "Say \"hi\" \\o/", "hi@example.com" },
		{ "José García", "jose@example.es" },
		{ "", "empty@example.com" },
		{ "=?x?=", "ew@example.com" },
	};
	struct pca_mailbox many[6];
	char names[6][16], addrs[6][32];
	int i;

	pca_buf_reset(&out);
	pca_mime_header_mailboxes(&out, "To", two, 2);
	is_str(pca_buf_cstr(&out), "To: Acme Calls <calls@acme.example>, \"Lee, Dana\" <dana@example.com>\r\n",
	    "atoms as they are, specials quoted");
	pca_buf_reset(&out);
	pca_mime_header_mailboxes(&out, "Cc", odd, 5);
	is_str(pca_buf_cstr(&out),
	    "Cc: owner@acme.example, \"Say \\\"hi\\\" \\\\o/\" <hi@example.com>,\r\n"
	    " =?UTF-8?B?Sm9zw6kgR2FyY8OtYQ==?= <jose@example.es>, empty@example.com,\r\n"
	    " =?UTF-8?B?PT94Pz0=?= <ew@example.com>\r\n",
	    "bare address, escapes, encoded name, folds after commas");
	for (i = 0; i < 6; i++) {
		snprintf(names[i], sizeof names[i], "Person %d", i);
		snprintf(addrs[i], sizeof addrs[i], "person%d@example.com", i);
		many[i].name = names[i];
		many[i].addr = addrs[i];
	}
	pca_buf_reset(&out);
	pca_mime_header_mailboxes(&out, "To", many, 6);
	is_str(pca_buf_cstr(&out),
	    "To: Person 0 <person0@example.com>, Person 1 <person1@example.com>,\r\n"
	    " Person 2 <person2@example.com>, Person 3 <person3@example.com>,\r\n"
	    " Person 4 <person4@example.com>, Person 5 <person5@example.com>\r\n",
	    "whole mailboxes per line");
}

static void
test_header_raw(void)
{
	pca_buf_reset(&out);
	pca_mime_header_raw(&out, "Message-ID", "<LX3K2J4.9ZQW8P2M1N@acme.example>");
	is_str(pca_buf_cstr(&out), "Message-ID: <LX3K2J4.9ZQW8P2M1N@acme.example>\r\n", "short raw value");
	pca_buf_reset(&out);
	pca_mime_header_raw(&out, "List-Id",
	    "Acme Calls notifications for the front desk team in Barcelona <calls.acme.example>");
	is_str(pca_buf_cstr(&out),
	    "List-Id: Acme Calls notifications for the front desk team in Barcelona\r\n"
	    " <calls.acme.example>\r\n", "long raw value folds at a space");
	pca_buf_reset(&out);
	pca_mime_header_raw(&out, "X-Test", "a\nBcc: b");
	is_str(pca_buf_cstr(&out), "X-Test: a Bcc: b\r\n", "raw: LF becomes a space");
}

static const char *
qp(const char *s)
{
	pca_buf_reset(&out);
	pca_mime_qp_encode(&out, s, strlen(s));
	return pca_buf_cstr(&out);
}

static void
test_qp_encode(void)
{
	char line[200];

	is_str(qp("a b \nFrom x\n.\n"), "a b=20\r\n=46rom x\r\n=2E\r\n",
	    "trailing space, From, lone dot");
	is_str(qp("café = ok"), "caf=C3=A9 =3D ok", "UTF-8 and = encoded");
	is_str(qp("a\rb\r\r\nc\td\t"), "a=0Db=0D\r\nc\td=09", "lone CR, tab inside and at the end");
	is_str(qp(".x\n..\nfrom \n"), ".x\r\n..\r\nfrom=20\r\n", "only a lone dot and \"From \"");
	is_str(qp("\x01\x7f\xff"), "=01=7F=FF", "controls and a non-UTF-8 byte");

	memset(line, 'x', 80);
	line[80] = '\0';
	is_str(qp(line), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=\r\n"
	    "xxxxx", "soft break after 75 characters");
	line[76] = '\0';
	is_str(qp(line), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "76 characters fit when nothing follows");
	memcpy(line + 74, "\xc3\xa9", 3);
	is_str(qp(line), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=\r\n"
	    "=C3=A9", "a character's triplets are not split");
	memset(line, 'x', 75);
	memcpy(line + 75, ".\n", 3);
	is_str(qp(line), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.\r\n",
	    "last character may take column 76");
	memcpy(line + 74, "  \n", 4);
	is_str(qp(line), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx =\r\n"
	    "=20\r\n", "space before a break encoded, space before a soft break not");
}

static void
test_qp_decode(void)
{
	struct pca_err err = PCA_ERR_INIT;
	const char *in = "caf=C3=A9 =3d ok=\r\nnext=20  \r\nthird   \r\nlast=\n";

	pca_buf_reset(&out);
	is_int(pca_mime_qp_decode(&out, in, strlen(in), &err), 0, "decode");
	is_str(pca_buf_cstr(&out), "café = oknext \r\nthird\r\nlast", "escapes, soft breaks, transport spaces");
	pca_buf_reset(&out);
	is_int(pca_mime_qp_decode(&out, "a=4", 3, &err), -1, "truncated escape fails");
	is_str(pca_err_msg(&err), "quoted-printable: invalid escape at byte 1", "its message");
	is_int(pca_mime_qp_decode(&out, "\xc3", 1, &err), -1, "8-bit byte fails");
	is_str(pca_err_msg(&err), "quoted-printable: byte 0xC3 at 0 is not allowed", "its message");
	pca_err_clear(&err);
}

static const char *
decode(const char *s, struct pca_err *err)
{
	pca_buf_reset(&out);
	if (pca_mime_header_decode(&out, s, strlen(s), err) < 0)
		return NULL;
	return pca_buf_cstr(&out);
}

static void
test_header_decode(void)
{
	static const char *const samples[] = {
		"Call from José García (+34 600 000 000)",
		"Звонок от Ивана Петрова: перезвоните, пожалуйста, до конца рабочего дня",
		"=?UTF-8?Q?x?= and _ and ? and =",
		"😀 🇪🇸 👨‍👩‍👧‍👦 e\xcc\x81 mixed Ascii 日本",
	};
	struct pca_err err = PCA_ERR_INIT;
	struct pca_buf enc = PCA_BUF_INIT;
	size_t i;

	is_str(decode(" =?UTF-8?Q?Caf=C3=A9?= =?utf-8?b?IGNsdWI=?=  and =?ISO-8859-1?Q?x?=", &err),
	    "Café club  and =?ISO-8859-1?Q?x?=", "decode: adjacent words joined, unknown charset kept");
	is_str(decode("a\r\n b =?US-ASCII?Q?c_d?=\r\n", &err), "a b c d", "decode: unfolds, US-ASCII");
	ok(decode("a\r\nb", &err) == NULL, "decode: a line break without white space fails");
	ok(decode("=?UTF-8?Q?=C3?=", &err) == NULL, "decode: half a UTF-8 sequence fails");
	is_str(pca_err_msg(&err), "header: encoded-word \"=?UTF-8?Q?=C3?=\" is not valid UTF-8", "its message");
	ok(decode("=?UTF-8?B?abc?=", &err) == NULL, "decode: bad base64 fails");
	for (i = 0; i < sizeof samples / sizeof *samples; i++) {
		pca_buf_reset(&enc);
		pca_mime_header_text(&enc, "Subject", samples[i], strlen(samples[i]));
		is_str(decode(enc.data + strlen("Subject:"), &err), samples[i], "round trip");
	}
	pca_buf_free(&enc);
	pca_err_clear(&err);
}

static const char *
date(int64_t t)
{
	pca_buf_reset(&out);
	pca_mime_date(&out, t);
	return pca_buf_cstr(&out);
}

static void
test_date(void)
{
	is_str(date(0), "Thu, 01 Jan 1970 00:00:00 +0000", "epoch");
	is_str(date(-1), "Wed, 31 Dec 1969 23:59:59 +0000", "before the epoch");
	is_str(date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000", "leap day of 2000");
	is_str(date(4107542399), "Sun, 28 Feb 2100 23:59:59 +0000", "2100 is not a leap year");
	is_str(date(4107542400), "Mon, 01 Mar 2100 00:00:00 +0000", "so March follows");
	is_str(date(2147483647), "Tue, 19 Jan 2038 03:14:07 +0000", "last 32-bit second");
	is_str(date(2147483648), "Tue, 19 Jan 2038 03:14:08 +0000", "and after");
	is_str(date(1795864405), "Sat, 28 Nov 2026 11:13:25 +0000", "the header's example");
	is_str(date(INT64_MIN), "Mon, 01 Jan 1900 00:00:00 +0000", "clamped to 1900");
	is_str(date(INT64_MAX), "Fri, 31 Dec 9999 23:59:59 +0000", "clamped to 9999");
}

static void
parse_ok(const char *s, const char *name, const char *addr)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_mailbox mb;
	int rc = pca_mailbox_parse(s, &mb, &err);

	if (!ok(rc == 0, "parse %s", s))
		printf("#   %s\n", pca_err_msg(&err));
	is_str(mb.name, name, "  its name");
	is_str(mb.addr, addr, "  its address");
	pca_mailbox_free(&mb);
	pca_err_clear(&err);
}

static void
parse_fails(const char *s, const char *msg)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_mailbox mb;

	ok(pca_mailbox_parse(s, &mb, &err) == -1 && !mb.name && !mb.addr, "reject: %s", msg);
	is_str(pca_err_msg(&err), msg, "  with that message");
	pca_err_clear(&err);
}

static void
test_mailbox_parse(void)
{
	parse_ok("owner@acme.example", NULL, "owner@acme.example");
	parse_ok("  Acme Calls <calls@acme.example> ", "Acme Calls", "calls@acme.example");
	parse_ok("\"Lee, Dana\" <dana@example.com>", "Lee, Dana", "dana@example.com");
	parse_ok("José García <jose@example.es>", "José García", "jose@example.es");
	parse_ok("\"A \\\"q\\\" <B>\" <a@b.example>", "A \"q\" <B>", "a@b.example");
	parse_ok("<bare@example.com>", NULL, "bare@example.com");
	parse_ok("\"john doe\"@example.com", NULL, "\"john doe\"@example.com");
	parse_ok("first.last+tag@sub.example-host.com", NULL, "first.last+tag@sub.example-host.com");
	parse_ok("info@bücher.example", NULL, "info@bücher.example");
	parse_ok("root@localhost", NULL, "root@localhost");

	parse_fails("owner.acme.example", "not an email address: missing \"@\"");
	parse_fails("user@exa mple.com", "email address: invalid domain \"exa mple.com\"");
	parse_fails("a@b.example\r\nBcc: x@y.example", "email address contains a line break");
	parse_fails("a\x01@b.example", "email address contains a control character");
	parse_fails("a@b.example\xff", "email address is not valid UTF-8");
	parse_fails("  ", "email address is empty");
	parse_fails("Name <>", "email address is empty");
	parse_fails("Dana <dana@example.com", "email address: unbalanced angle brackets");
	parse_fails("Dana dana@example.com>", "email address: unbalanced angle brackets");
	parse_fails("\"Dana <dana@example.com>", "email address: unbalanced quote");
	parse_fails("Dana <dana@example.com> x", "email address: unexpected text after \">\"");
	parse_fails(".a@b.example", "email address: invalid local part \".a\"");
	parse_fails("a..b@c.example", "email address: invalid local part \"a..b\"");
	parse_fails("a@b.example, c@d.example", "email address: invalid local part \"a@b.example, c\"");
	parse_fails("@b.example", "email address: missing local part before \"@\"");
	parse_fails("a@", "email address: missing domain after \"@\"");
	parse_fails("a@-b.example", "email address: invalid domain \"-b.example\"");
	parse_fails("a@b..example", "email address: invalid domain \"b..example\"");
	parse_fails("a@b.example.", "email address: invalid domain \"b.example.\"");
	parse_fails("a@[127.0.0.1]", "email address: invalid domain \"[127.0.0.1]\"");
	parse_fails("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.example",
	    "email address: invalid local part "
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
}

int
main(void)
{
	test_header_text();
	test_header_text_limits();
	test_mailboxes();
	test_header_raw();
	test_qp_encode();
	test_qp_decode();
	test_header_decode();
	test_date();
	test_mailbox_parse();
	pca_buf_free(&out);
	return tap_done();
}
