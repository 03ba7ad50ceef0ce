"""pca-render: what each post-call action would send, checked from outside.

- golden files (tests/golden/render/, see tests/golden/README.md): the JSON
  Lines output for sms, email and webhook over examples/calls.jsonl, and one
  --raw email and webhook body, byte for byte;
- the email read back by Python's email package (the independent reader):
  headers, no Bcc, decoded subject, parts, line lengths, CRLF, escaping,
  header injection;
- SMS: segments within max_segments, truncation exactly when needed, at a
  word boundary, with the right ellipsis, counted again by an independent
  counter where that counter applies;
- webhook: the body is the record (plus contact name and recording expiry)
  wrapped as {"type","timestamp","data"};
- bad input, usage and configuration errors, output errors, exit statuses;
- a 50 MB transcript.

Environment: PCA_BUILD_DIR, PCA_SOURCE_DIR (set by meson). Debian's
/usr/bin/python3. PCA_UPDATE_GOLDEN=1 rewrites the golden files.
"""
import atexit
import csv
import email
import email.utils
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import unittest
from datetime import datetime, timezone
from email import policy
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcatest as T  # noqa: E402

RENDER = T.program("pca-render")
GOLDEN = T.golden_path("render")
CONFIG = os.path.join(GOLDEN, "config.yaml")
EXAMPLES = T.source_path("examples", "calls.jsonl")
CONTACTS = T.source_path("examples", "contacts.csv")
RECORDS = T.source_path("tests", "data", "records")

# What tests/golden/render/config.yaml says.
NOW = "2026-11-28T12:00:00Z"
NOW_DT = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)
ZONE = ZoneInfo("Europe/Berlin")
SMS_RATE = 1.5
EMAIL_RATE = 0.25
SMS_ACTIONS = {"sms-owner": {"max": 2, "recipients": 2}, "sms-short": {"max": 1, "recipients": 1}}
EMAIL_ACTION = "email-team"
WEBHOOK_ACTION = "hook"
FROM = ("Front Desk \u2014 pca", "calls@pca.example")
TO = [("Owner", "owner@pca.example"), ("Jos\u00e9 N\u00fa\u00f1ez", "jose@pca.example")]
CC = [("Night Shift", "night@pca.example")]
REPLY_TO = [("Support Team", "support@pca.example")]
LIST_ID = "Call reports <calls.pca.example>"
BCC_ADDR = "audit-hidden@pca.example"
EMAIL_HEADERS = {"date", "from", "to", "cc", "reply-to", "subject", "message-id", "list-id",
                 "auto-submitted", "x-pca-call-id", "mime-version", "content-type"}

# The one example whose recording expired before NOW (2026-09-14).
EXPIRED_CALL = "call_01KKPF2RAK4XR0Q340WM9MW3T5"
# The example of the --raw golden files: a contact from the contacts file, a
# recording without expires_at, Spanish text.
RAW_CALL_LINE = 3
RAW_CALL = "call_01M84R5R9ZS6XB6BW5HRCB2S2X"


def render(args, stdin=b"", env=None, cwd=None, timeout=120):
    """(rc, stdout bytes, stderr text) of pca-render."""
    return T.run([RENDER, *args], stdin=stdin, env=env, cwd=cwd, timeout=timeout)


def examples():
    """[(raw line bytes, record)] of examples/calls.jsonl."""
    return T.read_jsonl(EXAMPLES)


def example(call_id):
    for raw, rec in examples():
        if rec["call_id"] == call_id:
            return raw, rec
    raise KeyError(call_id)


def copy(obj):
    return json.loads(json.dumps(obj))


# ---- facts computed independently of the C code ----


def e164_us(s):
    """A contacts.csv number in E.164, national numbers read as US."""
    digits = re.sub(r"[^0-9]", "", s)
    return "+" + digits if s.strip().startswith("+") else "+1" + digits


def contacts():
    with open(CONTACTS, encoding="utf-8", newline="") as f:
        return {e164_us(row["number"]): row["name"] for row in csv.DictReader(f)}


def contact_for(rec):
    """The name a message should show: the record's, else the contacts file's."""
    caller = rec.get("caller") or {}
    if caller.get("contact_name"):
        return caller["contact_name"]
    return contacts().get(caller.get("number"))


def parse_time(s):
    return datetime.fromisoformat(s.upper().replace("Z", "+00:00"))


def utc_ms(dt):
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def add_months(dt, n):
    """The same calendar time n months later, the day clamped to the month."""
    y, m = divmod(dt.month - 1 + n, 12)
    y += dt.year
    m += 1
    nxt = datetime(y + (m == 12), m % 12 + 1, 1)
    last = (nxt - datetime(y, m, 1)).days
    return dt.replace(year=y, month=m, day=min(dt.day, last))


def recording_expiry(rec):
    r = rec["recording"]
    if "expires_at" in r:
        return parse_time(r["expires_at"])
    return add_months(parse_time(rec["ended_at"]).astimezone(timezone.utc), 6)


def local_day(dt):
    t = dt.astimezone(ZONE)
    return "%d %s %d" % (t.day, t.strftime("%b"), t.year)


def local_started(rec):
    t = parse_time(rec["started_at"]).astimezone(ZONE)
    return "%s %d %s %d %02d:%02d %s" % (t.strftime("%a"), t.day, t.strftime("%b"), t.year,
                                         t.hour, t.minute, t.tzname())


def duration_label(ms):
    s = (ms + 500) // 1000
    if s >= 3600:
        return "%dh %02dm %02ds" % (s // 3600, s // 60 % 60, s % 60)
    if s >= 60:
        return "%dm %02ds" % (s // 60, s % 60)
    return "%ds" % s


PHONE_TYPES = {"mobile": "Mobile", "landline": "Landline", "voip": "VoIP",
               "toll_free": "Toll-free", "unknown": "Unknown"}


def phone_type_label(rec):
    return PHONE_TYPES.get((rec.get("caller") or {}).get("phone_type"), "Unknown")


def html_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


# ---- an independent SMS counter, for texts where clusters are code points ----

GSM7_BASIC = set(
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0")
GSM7_EXT = set("\f^{}\\[~]|\u20ac")


def simple_clusters(text):
    """True when every code point is a grapheme cluster of its own, so that
    counting code points is counting what a phone shows."""
    if "\r\n" in text:
        return False
    for c in text:
        o = ord(c)
        if unicodedata.category(c) in ("Mn", "Mc", "Me", "Cf") or 0x1F3FB <= o <= 0x1F3FF \
                or 0x1F1E6 <= o <= 0x1F1FF or 0x1100 <= o <= 0x11FF or 0xFE00 <= o <= 0xFE0F:
            return False
    return True


def fill(costs, single, multi):
    """Segments for per-character costs: one if all fit in `single`, else
    greedy segments of `multi` that never split a character."""
    if sum(costs) <= single:
        return 1
    segs, used = 1, 0
    for c in costs:
        if used + c > multi:
            segs, used = segs + 1, 0
        used += c
    return segs


def sms_count(text):
    """(encoding, segments, characters) as Twilio counts, or None when the
    text has clusters of several code points (this counter does not know)."""
    if not simple_clusters(text):
        return None
    if all(c in GSM7_BASIC or c in GSM7_EXT for c in text):
        costs = [2 if c in GSM7_EXT else 1 for c in text]
        return "GSM-7", fill(costs, 160, 153), sum(costs)
    costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return "UCS-2", fill(costs, 70, 67), len(text)


def fits(text, max_segments):
    return sms_count(text)[1] <= max_segments


def with_ellipsis(body):
    """body + "..." when that is GSM-7, else body + U+2026."""
    t = body + "..."
    return t if sms_count(t)[0] == "GSM-7" else body + "\u2026"


# ---- email helpers ----


def parse_email(raw, strict=False):
    return email.message_from_bytes(raw, policy=policy.strict if strict else policy.default)


def mime_lines(raw):
    """The lines of a message, split at CRLF (the caller checks there is no
    other line end), and the index of the empty line ending the headers."""
    lines = raw.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines, lines.index(b"")


def unbreakable_header_line(line):
    """A header line that has no whitespace to fold at (a long Message-ID)."""
    rest = line.lstrip(b" \t")
    if line[:1] not in (b" ", b"\t"):
        rest = rest.split(b":", 1)[1].lstrip(b" ") if b":" in rest else rest
    return b" " not in rest and b"\t" not in rest


def email_parts(test, msg):
    """The decoded text and HTML of a pca message, checking its structure."""
    test.assertEqual(msg.get_content_type(), "multipart/alternative")
    parts = list(msg.iter_parts())
    test.assertEqual([p.get_content_type() for p in parts], ["text/plain", "text/html"])
    for p in parts:
        test.assertEqual(p.get_content_charset(), "utf-8")
        test.assertEqual(p["Content-Transfer-Encoding"], "quoted-printable")
    text, html = (p.get_content().replace("\r\n", "\n") for p in parts)
    return text, html


# ---- shared runs ----

_HOME = []


def _scratch_home():
    """An empty HOME for runs shared between tests, removed at exit."""
    if not _HOME:
        _HOME.append(tempfile.mkdtemp(prefix="pca-test-home-"))
        atexit.register(shutil.rmtree, _HOME[0], True)
    return _HOME[0]


class Rendered:
    """Renderings of the examples with the golden configuration, made once."""
    _cache = {}

    @classmethod
    def get(cls, fmt, now=NOW, config=CONFIG, path=EXAMPLES):
        key = (fmt, now, config, path)
        if key not in cls._cache:
            env = T.clean_env(_scratch_home())
            rc, out, err = render(["-c", config, "-f", fmt, "--now", now, path], env=env)
            if rc != 0:
                raise AssertionError(f"pca-render -f {fmt}: exit {rc}: {err}")
            cls._cache[key] = (out, T.load_jsonl(out), err)
        return cls._cache[key]


# =====================================================================
# 1. golden files
# =====================================================================


class GoldenTest(T.TempDirCase):
    """Byte-for-byte output, rendered from a directory other than the
    configuration's (relative paths in it are relative to the file)."""

    def run_ok(self, args, stdin=b""):
        rc, out, err = render(["-c", CONFIG, "--now", NOW, *args], stdin=stdin, env=self.env,
                              cwd=self.tmp)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        return out

    def test_sms_jsonl(self):
        out = self.run_ok(["-f", "sms", EXAMPLES])
        self.assertEqual(len(T.load_jsonl(out)), 2 * len(examples()))
        T.check_golden(self, os.path.join(GOLDEN, "sms.jsonl"), out)

    def test_email_jsonl(self):
        out = self.run_ok(["-f", "email", EXAMPLES])
        self.assertEqual(len(T.load_jsonl(out)), len(examples()))
        T.check_golden(self, os.path.join(GOLDEN, "email.jsonl"), out)

    def test_webhook_jsonl(self):
        out = self.run_ok(["-f", "webhook", EXAMPLES])
        self.assertEqual(len(T.load_jsonl(out)), len(examples()))
        T.check_golden(self, os.path.join(GOLDEN, "webhook.jsonl"), out)

    def raw_example(self):
        raw = examples()[RAW_CALL_LINE - 1][0] + b"\n"
        self.assertIn(RAW_CALL.encode(), raw)
        return raw

    def test_email_raw(self):
        out = self.run_ok(["-f", "email", "--raw", "--action", EMAIL_ACTION], self.raw_example())
        T.check_golden(self, os.path.join(GOLDEN, "email-raw.eml"), out)

    def test_webhook_raw(self):
        out = self.run_ok(["-f", "webhook", "--raw", "--action", WEBHOOK_ACTION],
                          self.raw_example())
        T.check_golden(self, os.path.join(GOLDEN, "webhook-raw.json"), out)

    def test_stdin_and_file_agree(self):
        data = T.read_file(EXAMPLES)
        self.assertEqual(self.run_ok(["-f", "sms"], data), self.run_ok(["-f", "sms", EXAMPLES]))
        self.assertEqual(self.run_ok(["-f", "sms", "-"], data),
                         self.run_ok(["-f", "sms", EXAMPLES]))

    def test_raw_goldens_match_jsonl_goldens(self):
        """The --raw files hold exactly what the JSON Lines files carry."""
        if T.update_golden():
            self.skipTest("regenerating")
        line = next(j for j in T.load_jsonl(T.read_file(os.path.join(GOLDEN, "email.jsonl")))
                    if j["call_id"] == RAW_CALL)
        self.assertEqual(line["message"].encode(),
                         T.read_file(os.path.join(GOLDEN, "email-raw.eml")))
        line = next(j for j in T.load_jsonl(T.read_file(os.path.join(GOLDEN, "webhook.jsonl")))
                    if j["call_id"] == RAW_CALL)
        self.assertEqual(line["body"].encode(),
                         T.read_file(os.path.join(GOLDEN, "webhook-raw.json")))

    def test_action_selects_one(self):
        out = T.load_jsonl(self.run_ok(["-f", "sms", "--action", "sms-short", EXAMPLES]))
        self.assertEqual(len(out), len(examples()))
        self.assertEqual({j["action_id"] for j in out}, {"sms-short"})
        self.assertEqual([j["call_id"] for j in out], [r["call_id"] for _, r in examples()])


# =====================================================================
# 2. email
# =====================================================================


class EmailTest(T.TempDirCase):

    @classmethod
    def setUpClass(cls):
        cls.out = Rendered.get("email")[1]
        cls.records = {r["call_id"]: r for _, r in examples()}

    def messages(self):
        for j in self.out:
            yield j, self.records[j["call_id"]], j["message"].encode("ascii")

    def render_one(self, rec, now=NOW, extra=()):
        rc, out, err = render(["-c", CONFIG, "-f", "email", "--now", now, *extra],
                              stdin=T.dump_record(rec), env=self.env)
        self.assertEqual(rc, 0, err)
        (j,) = T.load_jsonl(out)
        return j, j["message"].encode("ascii")

    def assert_well_formed(self, raw):
        """Python reads it without a defect, strictly too; CRLF only; line lengths."""
        msg = parse_email(raw)
        for part in msg.walk():
            self.assertEqual(list(part.defects), [], part.get_content_type())
            for name, value in part.items():
                self.assertEqual(tuple(value.defects), (), f"{name}: {value}")
        strict = parse_email(raw, strict=True)
        for part in strict.walk():
            for name, value in part.items():
                str(value)
        self.assertTrue(raw.endswith(b"\r\n"))
        bare = raw.replace(b"\r\n", b"")
        self.assertNotIn(b"\r", bare, "a CR that does not end a line")
        self.assertNotIn(b"\n", bare, "an LF without CR")
        lines, end = mime_lines(raw)
        for i, line in enumerate(lines):
            self.assertLessEqual(len(line), 998, line[:80])
            if i < end and len(line) > 78:
                self.assertTrue(unbreakable_header_line(line), f"header line over 78: {line!r}")
            elif i > end:
                # The body is quoted-printable: RFC 2045 lines are at most 76,
                # and white space at a line end is encoded.
                self.assertLessEqual(len(line), 76, line)
                self.assertFalse(line.endswith((b" ", b"\t")), line)
        return msg

    def parts(self, msg):
        return email_parts(self, msg)

    def test_every_message_well_formed(self):
        self.assertEqual(len(self.out), len(self.records))
        for j, rec, raw in self.messages():
            with self.subTest(call=j["call_id"]):
                self.assert_well_formed(raw)

    def test_headers(self):
        for j, rec, raw in self.messages():
            with self.subTest(call=j["call_id"]):
                msg = parse_email(raw)
                self.assertEqual({k.lower() for k in msg.keys()}, EMAIL_HEADERS)
                self.assertEqual(len(msg.keys()), len(EMAIL_HEADERS), "a repeated header")
                addrs = lambda h: [(a.display_name, a.addr_spec) for a in msg[h].addresses]
                self.assertEqual(addrs("From"), [FROM])
                self.assertEqual(addrs("To"), TO)
                self.assertEqual(addrs("Cc"), CC)
                self.assertEqual(addrs("Reply-To"), REPLY_TO)
                self.assertEqual(str(msg["List-Id"]), LIST_ID)
                self.assertEqual(str(msg["Message-ID"]), j["message_id"])
                self.assertEqual(j["message_id"],
                                 f"<pca.{EMAIL_ACTION}.{rec['call_id']}@pca.example>")
                self.assertEqual(email.utils.parsedate_to_datetime(str(msg["Date"])), NOW_DT)
                self.assertEqual(str(msg["MIME-Version"]), "1.0")
                self.assertEqual(str(msg["X-PCA-Call-ID"]), rec["call_id"])
                self.assertEqual(str(msg["Auto-Submitted"]), "auto-generated")
                self.assertEqual(j["recipients"], 4)
                self.assertEqual(j["credits"], 4 * EMAIL_RATE)

    def test_no_bcc(self):
        for j, rec, raw in self.messages():
            with self.subTest(call=j["call_id"]):
                msg = parse_email(raw)
                for part in msg.walk():
                    self.assertIsNone(part["Bcc"])
                self.assertNotIn(b"bcc", raw.lower())
                self.assertNotIn(b"audit-hidden", raw)

    def test_subject(self):
        headlines = {"completed": "Call", "failed": "Failed call", "busy": "Busy call",
                     "no_answer": "Missed call", "canceled": "Canceled call",
                     "voicemail": "Voicemail", "transferred": "Transferred call"}
        scripts = set()
        for j, rec, raw in self.messages():
            with self.subTest(call=j["call_id"]):
                msg = parse_email(raw)
                self.assertEqual(str(msg["Subject"]), j["subject"])
                self.assertNotRegex(j["subject"], r"[\r\n\t]")
                self.assertTrue(j["subject"].startswith(headlines[rec["status"]] + " "),
                                j["subject"])
                name = contact_for(rec)
                if name:
                    self.assertIn(name, j["subject"])
                if (rec.get("caller") or {}).get("withheld"):
                    self.assertIn("a withheld number", j["subject"])
                if rec.get("answered_at"):
                    self.assertTrue(j["subject"].endswith(", " + duration_label(rec["duration_ms"])))
                scripts |= {unicodedata.name(c).split()[0] for c in j["subject"] if ord(c) > 0x7F}
        # The names in the examples are of many scripts: the decoding saw them all.
        self.assertEqual(scripts & {"CYRILLIC", "GREEK", "ARABIC", "CJK", "LATIN"},
                         {"CYRILLIC", "GREEK", "ARABIC", "CJK", "LATIN"})

    def test_parts_content(self):
        for j, rec, raw in self.messages():
            with self.subTest(call=j["call_id"]):
                text, html = self.parts(parse_email(raw))
                summary = rec.get("summary")
                if summary:
                    self.assertIn(summary, text)
                    self.assertIn(html_escape(summary), html)
                else:
                    self.assertIn("No summary was made for this call.", text)
                label = phone_type_label(rec)
                self.assertIn("Phone type: " + label, text)
                self.assertIn(">" + label + "<", html)
                dur = duration_label(rec["duration_ms"])
                self.assertIn("Duration:   " + dur + "\n", text)
                self.assertIn(">" + dur + "<", html)
                self.assertIn("When:       " + local_started(rec) + "\n", text)
                name = contact_for(rec)
                if name:
                    self.assertIn("Contact:    " + name + "\n", text)
                    self.assertIn(html_escape(name), html)
                turns = rec.get("transcript") or []
                for turn in turns:
                    self.assertIn(turn["text"], text)
                    self.assertIn(html_escape(turn["text"]), html)
                if not turns:
                    self.assertIn("No transcript for this call.", text)
                self.assertIn(f"Call {rec['call_id']}, sent by pca.", text)

    def test_recording(self):
        seen_expired = seen_kept = 0
        for j, rec, raw in self.messages():
            with self.subTest(call=j["call_id"]):
                text, html = self.parts(parse_email(raw))
                if "recording" not in rec:
                    self.assertIn("This call was not recorded.", text)
                    self.assertIn("This call was not recorded.", html)
                    continue
                url = rec["recording"]["url"]
                day = local_day(recording_expiry(rec))
                if recording_expiry(rec) <= NOW_DT:
                    seen_expired += 1
                    notice = f"The recording expired on {day} and is no longer available."
                    self.assertIn(notice, text)
                    self.assertIn(notice, html)
                    self.assertNotIn(url, text)
                    self.assertNotIn(html_escape(url), html)
                    self.assertNotIn(url.encode(), raw)
                else:
                    seen_kept += 1
                    self.assertIn(url + "\nKept until " + day + ".\n", text)
                    self.assertIn('href="' + html_escape(url) + '"', html)
                    self.assertIn("Kept until " + day + ".", html)
                    self.assertNotIn("no longer available", text)
        self.assertEqual(seen_expired, 1)
        self.assertGreater(seen_kept, 10)

    def test_expired_recording_is_the_one_expected(self):
        _, rec = example(EXPIRED_CALL)
        self.assertLess(recording_expiry(rec), NOW_DT)
        # Before its expiry, the same call shows the link.
        j, raw = self.render_one(rec, now="2026-09-01T00:00:00Z")
        text, _ = self.parts(parse_email(raw))
        self.assertIn(rec["recording"]["url"], text)
        self.assertIn("Kept until 14 Sep 2026.", text)

    def test_message_id_stable_across_now(self):
        later = {j["call_id"]: j for j in Rendered.get("email", now="2027-03-01T08:30:00+01:00")[1]}
        for j in self.out:
            with self.subTest(call=j["call_id"]):
                other = later[j["call_id"]]
                self.assertEqual(other["message_id"], j["message_id"])
                self.assertNotEqual(other["message"], j["message"])
                msg = parse_email(other["message"].encode())
                self.assertEqual(email.utils.parsedate_to_datetime(str(msg["Date"])),
                                 datetime(2027, 3, 1, 7, 30, tzinfo=timezone.utc))

    def test_message_id_for_a_call_id_that_is_not_atext(self):
        _, rec = example(RAW_CALL)
        rec = copy(rec)
        rec["call_id"] = 'call(1)"x"@y'
        j, raw = self.render_one(rec)
        self.assertRegex(j["message_id"], r"^<pca\.email-team\.[0-9a-f]{32}@pca\.example>$")
        msg = self.assert_well_formed(raw)
        self.assertEqual(str(msg["Message-ID"]), j["message_id"])
        j2, _ = self.render_one(rec, now="2030-01-01T00:00:00Z")
        self.assertEqual(j2["message_id"], j["message_id"])

    def test_script_in_transcript_is_escaped(self):
        _, rec = example(RAW_CALL)
        rec = copy(rec)
        evil = "<script>alert('x' & \"y\")</script>"
        rec["transcript"][1]["text"] = evil
        rec["summary"] = "Summary with <b>tags</b> & <script>s</script>"
        j, raw = self.render_one(rec)
        text, html = self.parts(self.assert_well_formed(raw))
        self.assertIn("&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;", html)
        self.assertIn("Summary with &lt;b&gt;tags&lt;/b&gt; &amp; &lt;script&gt;s&lt;/script&gt;",
                      html)
        self.assertNotIn("<script", html)
        self.assertNotIn("<b>", html)
        self.assertIn(evil, text)

    def test_contact_name_cannot_add_a_header(self):
        _, rec = example(RAW_CALL)
        rec = copy(rec)
        rec["caller"]["contact_name"] = ("Eve\r\nBcc: victim@evil.example\r\nX-Injected: yes\n"
                                         "\r\nbody")
        j, raw = self.render_one(rec)
        msg = self.assert_well_formed(raw)
        self.assertEqual({k.lower() for k in msg.keys()}, EMAIL_HEADERS)
        self.assertIsNone(msg["X-Injected"])
        self.assertIsNone(msg["Bcc"])
        head = raw.split(b"\r\n\r\n", 1)[0]
        self.assertNotRegex(head, rb"(?im)^(bcc|x-injected):")
        subject = str(msg["Subject"])
        self.assertEqual(subject, j["subject"])
        self.assertNotRegex(subject, r"[\r\n]")
        self.assertIn("Eve", subject)
        self.assertIn("X-Injected: yes", subject)  # as text, inside the subject

    def test_white_space_and_line_ends_survive(self):
        _, rec = example(RAW_CALL)
        rec = copy(rec)
        rec["summary"] = "trailing   \nand tab\t\nCRLF\r\nlone CR\rhere\n\n.\nFrom x\nend"
        rec["transcript"][0]["text"] = "x" * 200 + " " * 3
        j, raw = self.render_one(rec)
        text, html = self.parts(self.assert_well_formed(raw))
        self.assertIn("trailing   \nand tab\t\nCRLF\n", text)
        self.assertIn("\n\n.\nFrom x\nend", text)
        self.assertIn("x" * 200, text)

    def test_subject_edge_cases(self):
        _, base = example(RAW_CALL)
        names = ["=?UTF-8?Q?Evil?=", "=?utf-8?b?RXZpbA==?= and ?= =?", "Zo\u00eb " + "x" * 300,
                 "\u65e5\u672c\u8a9e" * 60, "a b " * 80, '"quoted" name (comment) <x@y>',
                 "\U0001F468\u200D\U0001F469\u200D\U0001F467 " * 20, "tab\tand\x7fdel"]
        for name in names:
            with self.subTest(name=name[:20]):
                rec = copy(base)
                rec["caller"]["contact_name"] = name
                j, raw = self.render_one(rec)
                msg = self.assert_well_formed(raw)
                self.assertEqual(str(msg["Subject"]), j["subject"])
                clean = "".join(" " if ord(c) < 0x20 or ord(c) == 0x7F else c for c in name)
                self.assertTrue(j["subject"].startswith("Call from " + clean + " ("),
                                j["subject"])

    def test_boundary_text_in_body_does_not_split_it(self):
        first = Rendered.get("email")[1][0]["message"]
        boundary = re.search(r'boundary="([^"]+)"', first).group(1)
        _, rec = example(self.out[0]["call_id"])
        rec = copy(rec)
        rec["summary"] = f"--{boundary}\r\n--{boundary}--\nend"
        j, raw = self.render_one(rec)
        text, html = self.parts(self.assert_well_formed(raw))
        self.assertIn(f"--{boundary}--", text)

    def test_long_unbreakable_lines_and_fixtures(self):
        """Every valid record fixture (a 256-character call_id among them)."""
        for name in sorted(os.listdir(os.path.join(RECORDS, "valid"))):
            if not name.endswith(".json"):
                continue
            with self.subTest(fixture=name):
                with open(os.path.join(RECORDS, "valid", name), encoding="utf-8") as f:
                    rec = json.load(f)["record"]
                j, raw = self.render_one(rec)
                msg = self.assert_well_formed(raw)
                self.assertEqual(str(msg["Subject"]), j["subject"])
                self.assertEqual(str(msg["X-PCA-Call-ID"]), rec["call_id"])
                self.assertEqual(str(msg["Message-ID"]), j["message_id"])

    def test_direction_in_title(self):
        """An outbound call is one the agent placed *to* the number."""
        for j, rec, raw in self.messages():
            with self.subTest(call=j["call_id"]):
                text, html = self.parts(parse_email(raw))
                word = "to" if rec["direction"] == "outbound" else "from"
                self.assertRegex(j["subject"], r"^\w+( call)? %s " % word)
                first = text.split("\n", 1)[0]
                self.assertEqual(j["subject"].rsplit(", ", 1)[0] if rec.get("answered_at")
                                 else j["subject"], first)
                self.assertIn("<h1 style=\"font-size:20px;margin:0 0 16px 0;\">%s</h1>"
                              % html_escape(first), html)


# =====================================================================
# 3. SMS
# =====================================================================


def full_config(tmp):
    """The golden configuration with max_segments 10, to see the whole texts."""
    return T.write_config(tmp, f"""\
timezone: Europe/Berlin
region: US
contacts: {CONTACTS}
credits:
  sms_segment: {SMS_RATE}
actions:
  - id: sms-full
    type: sms
    to: "+14155550100"
    max_segments: 10
""")


class SmsTest(T.TempDirCase):

    @classmethod
    def setUpClass(cls):
        cls.out = Rendered.get("sms")[1]
        cls.records = {r["call_id"]: r for _, r in examples()}

    def full_texts(self):
        rc, out, err = render(["-c", full_config(self.tmp), "-f", "sms", "--now", NOW, EXAMPLES],
                              env=self.env)
        self.assertEqual(rc, 0, err)
        full = {}
        for j in T.load_jsonl(out):
            self.assertFalse(j["truncated"], j["call_id"])
            full[j["call_id"]] = j
        return full

    def sms_one(self, rec, max_segments=1):
        cfg = T.write_config(self.tmp, f"""\
actions:
  - id: s
    type: sms
    to: "+14155550100"
    max_segments: {max_segments}
""", name="sms-one.yaml")
        rc, out, err = render(["-c", cfg, "-f", "sms"], stdin=T.dump_record(rec), env=self.env)
        self.assertEqual(rc, 0, err)
        (j,) = T.load_jsonl(out)
        return j

    def test_order_and_actions(self):
        want = [(r["call_id"], a) for _, r in examples() for a in ("sms-owner", "sms-short")]
        self.assertEqual([(j["call_id"], j["action_id"]) for j in self.out], want)
        for j in self.out:
            self.assertEqual(j["format"], "sms")

    def test_segments_recipients_credits(self):
        for j in self.out:
            with self.subTest(call=j["call_id"], action=j["action_id"]):
                a = SMS_ACTIONS[j["action_id"]]
                self.assertGreaterEqual(j["segments"], 1)
                self.assertLessEqual(j["segments"], a["max"])
                self.assertEqual(j["recipients"], a["recipients"])
                self.assertEqual(j["credits"], j["segments"] * a["recipients"] * SMS_RATE)
                self.assertIn(j["encoding"], ("GSM-7", "UCS-2"))

    def test_independent_count(self):
        checked = 0
        for j in self.out:
            c = sms_count(j["text"])
            if c is None:
                continue
            with self.subTest(call=j["call_id"], action=j["action_id"]):
                self.assertEqual((j["encoding"], j["segments"], j["characters"]), c)
                checked += 1
        self.assertGreater(checked, 40)

    def test_truncated_exactly_when_needed(self):
        full = self.full_texts()
        n_trunc = 0
        for j in self.out:
            with self.subTest(call=j["call_id"], action=j["action_id"]):
                f = full[j["call_id"]]
                need = f["segments"] > SMS_ACTIONS[j["action_id"]]["max"]
                self.assertEqual(j["truncated"], need)
                if not need:
                    self.assertEqual(j["text"], f["text"])
                    continue
                n_trunc += 1
                self.check_cut(j, f["text"], self.records[j["call_id"]].get("summary") or "")
        self.assertGreater(n_trunc, 10)

    def check_cut(self, j, full, summary):
        text, maxseg = j["text"], SMS_ACTIONS[j["action_id"]]["max"]
        ell = "..." if j["encoding"] == "GSM-7" else "\u2026"
        self.assertTrue(text.endswith(ell), text)
        body = text[:-len(ell)]
        self.assertTrue(full.startswith(body), f"{text!r} is not a cut of {full!r}")
        self.assertTrue(full.endswith(summary))
        prefix = full[:len(full) - len(summary)]
        self.assertTrue(body.startswith(prefix), "the cut is in the summary")
        kept = body[len(prefix):]
        nxt = full[len(body)]
        self.assertNotIn(unicodedata.category(nxt), ("Mn", "Me", "Mc"), "a character was split")
        self.assertNotEqual(body[-1:], "\u200d", "a character was split")
        self.assertFalse(kept[-1:].isspace(), "white space before the ellipsis")
        at_word = nxt.isspace()
        if any(c.isspace() for c in kept):
            self.assertTrue(at_word, f"not cut at a word boundary: {text!r}")
        if sms_count(full) is None:
            return
        # As long as possible: one more word (or character) would not fit.
        rest = full[len(body):]
        if at_word:
            m = re.match(r"\s+\S+", rest)
            more = body + m.group(0)
        else:
            more = body + rest[0]
        self.assertFalse(fits(with_ellipsis(more), maxseg),
                         f"{with_ellipsis(more)!r} would fit too")

    def test_contact_names(self):
        book = contacts()
        seen = 0
        for j in self.out:
            rec = self.records[j["call_id"]]
            caller = rec.get("caller") or {}
            with self.subTest(call=j["call_id"], action=j["action_id"]):
                if caller.get("contact_name"):
                    self.assertRegex(j["text"], r"^\w+( call)? (from|to) %s \("
                                     % re.escape(caller["contact_name"]))
                elif caller.get("number") in book:
                    seen += 1
                    self.assertRegex(j["text"], r"^\w+( call)? (from|to) %s \("
                                     % re.escape(book[caller["number"]]))
                elif caller.get("number"):
                    self.assertRegex(j["text"], r"^\w+( call)? (from|to) \+")
        self.assertGreaterEqual(seen, 2 * 6)

    def test_withheld(self):
        withheld = [j for j in self.out if self.records[j["call_id"]]["caller"].get("withheld")]
        self.assertEqual(len(withheld), 2)
        for j in withheld:
            self.assertTrue(j["text"].startswith("Call from a withheld number: "), j["text"])

    def test_name_too_long_cuts_the_whole_text(self):
        _, rec = example(RAW_CALL)
        rec = copy(rec)
        rec["caller"]["contact_name"] = "Bartholomew " * 30
        j = self.sms_one(rec, 1)
        self.assertTrue(j["truncated"])
        self.assertEqual(j["segments"], 1)
        ell = "..." if j["encoding"] == "GSM-7" else "\u2026"
        self.assertTrue(j["text"].endswith(ell))
        self.assertEqual(sms_count(j["text"]), (j["encoding"], 1, j["characters"]))

    def test_cut_never_splits_a_cluster(self):
        family = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466"
        for unit, count in ((family, 40), ("e\u0301", 200), ("\U0001F1EA\U0001F1F8", 60)):
            with self.subTest(unit=unit):
                _, rec = example(RAW_CALL)
                rec = copy(rec)
                rec["summary"] = unit * count
                j = self.sms_one(rec, 1)
                self.assertTrue(j["truncated"])
                self.assertLessEqual(j["segments"], 1)
                self.assertTrue(j["text"].endswith("\u2026"), j["text"])
                kept = j["text"][:-1].split(": ", 1)[1]
                self.assertGreater(len(kept), 0)
                self.assertEqual(kept, unit * (len(kept) // len(unit)), kept)

    def test_direction_in_text(self):
        for j in self.out:
            rec = self.records[j["call_id"]]
            with self.subTest(call=j["call_id"], action=j["action_id"]):
                word = "to" if rec["direction"] == "outbound" else "from"
                self.assertRegex(j["text"], r"^\w+( call)? %s " % word)


# =====================================================================
# 4. webhook
# =====================================================================


def expected_data(rec):
    """The record as the webhook sends it: the contact name from the contacts
    file added, the recording's default expiry filled in; nothing else."""
    data = copy(rec)
    caller = data.get("caller")
    if caller and not caller.get("contact_name") and caller.get("number") in contacts():
        caller["contact_name"] = contacts()[caller["number"]]
    if "recording" in data and "expires_at" not in data["recording"]:
        data["recording"]["expires_at"] = utc_ms(recording_expiry(rec))
    return data


class WebhookTest(T.TempDirCase):

    @classmethod
    def setUpClass(cls):
        cls.out = Rendered.get("webhook")[1]

    def render_one(self, rec, raw=False):
        args = ["-c", CONFIG, "-f", "webhook", "--now", NOW] + (["--raw"] if raw else [])
        rc, out, err = render(args, stdin=T.dump_record(rec), env=self.env)
        self.assertEqual(rc, 0, err)
        return out if raw else T.load_jsonl(out)[0]

    def check_body(self, j, rec):
        self.assertEqual(j["webhook_id"], f"pca:{WEBHOOK_ACTION}:{rec['call_id']}")
        self.assertEqual(j["format"], "webhook")
        body = json.loads(j["body"], object_pairs_hook=lambda kv: kv)
        self.assertEqual([k for k, _ in body], ["type", "timestamp", "data"])
        body = json.loads(j["body"])
        self.assertEqual(body["type"], "call.ended")
        self.assertEqual(body["timestamp"], utc_ms(parse_time(rec["ended_at"])))
        self.assertRegex(body["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        want = expected_data(rec)
        self.assertEqual(body["data"], want)
        self.assertEqual(list(body["data"]), list(rec), "member order changed")
        return body

    def test_examples(self):
        recs = [r for _, r in examples()]
        self.assertEqual([j["call_id"] for j in self.out], [r["call_id"] for r in recs])
        added = defaulted = 0
        for j, rec in zip(self.out, recs):
            with self.subTest(call=rec["call_id"]):
                self.assertEqual(j["action_id"], WEBHOOK_ACTION)
                data = self.check_body(j, rec)["data"]
                added += data.get("caller", {}).get("contact_name") != \
                    rec.get("caller", {}).get("contact_name")
                defaulted += "recording" in rec and "expires_at" not in rec["recording"]
        self.assertGreaterEqual(added, 6)
        self.assertGreaterEqual(defaulted, 3)

    def test_raw_is_the_body(self):
        for raw_line, rec in examples()[:5]:
            with self.subTest(call=rec["call_id"]):
                j = self.render_one(rec)
                raw = self.render_one(rec, raw=True)
                self.assertEqual(raw, j["body"].encode("utf-8"))

    def test_values_and_offsets_kept(self):
        _, rec = example("call_01M84J9ECR73Z6TR5Q4CXHZQQJ")
        rec = copy(rec)
        rec["started_at"] = "2026-11-23T17:02:11.480+01:00"
        rec["answered_at"] = "2026-11-23T17:02:13.578+01:00"
        rec["ended_at"] = "2026-11-23t17:02:54.864123+01:00"
        rec["metadata"] = {"f": 0.1, "tiny": 1e-7, "big": 9007199254740993,
                           "huge": 12345678901234567890, "neg": -0.0, "e": 1.5e300,
                           "s": "a\u2028b\u0000c\ud7ff\ue000", "esc": "\"/\\\b\f",
                           "t": True, "n": None, "arr": [], "obj": {"z": 1, "a": 2}}
        rec["x_unknown"] = {"kept": ["as", "is"]}
        j = self.render_one(rec)
        body = self.check_body(j, rec)
        self.assertEqual(body["timestamp"], "2026-11-23T16:02:54.864Z")
        self.assertEqual(body["data"]["ended_at"], rec["ended_at"])
        self.assertEqual(list(body["data"]["metadata"]["obj"]), ["z", "a"])

    def test_default_expiry_clamps_the_day(self):
        _, rec = example(RAW_CALL)
        rec = copy(rec)
        rec["started_at"] = "2026-08-31T11:59:00.000Z"
        rec["answered_at"] = "2026-08-31T11:59:05.000Z"
        rec["ended_at"] = "2026-08-31T12:00:00.000Z"
        rec["events"] = []
        self.assertNotIn("expires_at", rec["recording"])
        body = self.check_body(self.render_one(rec), rec)
        self.assertEqual(body["data"]["recording"]["expires_at"], "2027-02-28T12:00:00.000Z")

    def test_record_contact_name_wins(self):
        _, rec = example(RAW_CALL)
        rec = copy(rec)
        rec["caller"]["contact_name"] = "Someone Else"
        body = self.check_body(self.render_one(rec), rec)
        self.assertEqual(body["data"]["caller"]["contact_name"], "Someone Else")

    def test_empty_contact_name_is_filled_like_the_messages(self):
        """An empty caller.contact_name counts as none, in the webhook as in
        the SMS and email (found by this test; fixed in 64968f1)."""
        _, rec = example(RAW_CALL)
        rec = copy(rec)
        rec["caller"]["contact_name"] = ""
        body = json.loads(self.render_one(rec)["body"])
        self.assertEqual(body["data"]["caller"]["contact_name"], contacts()["+14155550142"])

    def test_escaped_astral_characters_kept(self):
        _, rec = example(RAW_CALL)
        rec = copy(rec)
        rec["summary"] = "sign \U0001D800 and \U0001F600 end"
        line = json.dumps(rec, ensure_ascii=True).encode() + b"\n"
        self.assertIn(b"\\ud836\\udc00", line)
        rc, out, err = render(["-c", CONFIG, "-f", "webhook", "--raw"], stdin=line, env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["data"]["summary"], rec["summary"])


# =====================================================================
# 5. bad input, usage and configuration errors, output errors
# =====================================================================


def bad_input_file():
    """A file mixing good records and lines that are not records. Returns
    (bytes, [(line number, bad line bytes, message fragment)], [good call ids])."""
    lines = [raw for raw, _ in examples()]
    base = json.loads(lines[1])

    def variant(**changes):
        r = copy(base)
        for k, v in changes.items():
            if k == "caller_number":
                r["caller"]["number"] = v
            else:
                r[k] = v
        return json.dumps(r, ensure_ascii=False).encode()

    many = [{"action_id": "a%d" % i, "type": "sms", "status": "succeeded"} for i in range(11)]
    content = [
        ("good", lines[0]),
        ("bad", b"not json {", "not JSON"),
        ("bad", b"[1, 2, 3]", "not a JSON object (an array)"),
        ("bad", b"42", "not a JSON object (a number)"),
        ("bad", b"null", "not a JSON object (null)"),
        ("blank", b""),
        ("good", lines[2]),
        ("bad", b'{"schema":"pca.call.v1",\x00"call_id":"x"}', "not JSON: NUL byte at byte 25"),
        ("bad", lines[3].replace(b"Burst pipe", b"Burst \xff\xfe pipe"), "invalid UTF-8"),
        ("bad", variant(caller_number="+0123"), "caller.number: not an E.164 number"),
        ("blank", b"   \t"),
        ("bad", variant(call_id="call.with.dots"), "call_id: contains '.'"),
        ("bad", variant(post_call_actions=many), "post_call_actions: more than 10"),
        ("bad", variant(ended_at="2026-11-23T16:00:00.000Z"), "ended_at: before started_at"),
        ("good", lines[4]),
        ("bad", b'{"schema":"pca.call.v1","call_id":"trunc', "the line ends inside a value"),
    ]
    data = b"\n".join(c[1] for c in content)  # the last line has no newline
    bad = [(n, c[1], c[2]) for n, c in enumerate(content, 1) if c[0] == "bad"]
    good = [json.loads(c[1])["call_id"] for c in content if c[0] == "good"]
    return data, bad, good


class BadInputTest(T.TempDirCase):

    def setUp(self):
        super().setUp()
        self.data, self.bad, self.good = bad_input_file()
        self.file = T.write_file(self.path("mixed.jsonl"), self.data)

    def test_rejects_to_stderr(self):
        rc, out, err = render(["-c", CONFIG, "-f", "webhook", "mixed.jsonl"], env=self.env,
                              cwd=self.tmp)
        self.assertEqual(rc, 65, err)
        self.assertEqual([j["call_id"] for j in T.load_jsonl(out)], self.good)
        lines = T.stderr_lines(err)
        msgs = [l for l in lines if l.startswith("pca-render: ")]
        self.assertEqual(len(msgs), len(self.bad), err)
        for (n, line, frag), msg in zip(self.bad, msgs):
            with self.subTest(line=n):
                self.assertTrue(msg.startswith(f"pca-render: mixed.jsonl:{n}: "), msg)
                self.assertIn(frag, msg)
        # Without --rejects each bad line follows its message, on stderr.
        echoes = [l for l in lines if not l.startswith("pca-render: ")]
        self.assertEqual(len(echoes), len(self.bad), err)
        for (n, line, frag), echo in zip(self.bad, echoes):
            self.assertTrue(echo.startswith(f"mixed.jsonl:{n}: "), echo)

    def test_rejects_file(self):
        for fmt, per_record in (("webhook", 1), ("sms", 2), ("email", 1)):
            with self.subTest(format=fmt):
                rej = self.path(f"rejects-{fmt}.jsonl")
                rc, out, err = render(["-c", CONFIG, "-f", fmt, "--rejects", rej, self.file],
                                      env=self.env)
                self.assertEqual(rc, 65, err)
                ids = [j["call_id"] for j in T.load_jsonl(out)]
                self.assertEqual(ids, [c for c in self.good for _ in range(per_record)])
                msgs = T.stderr_lines(err)
                self.assertEqual(len(msgs), len(self.bad), err)
                for (n, line, frag), msg in zip(self.bad, msgs):
                    self.assertTrue(msg.startswith(f"pca-render: {self.file}:{n}: "), msg)
                    self.assertIn(frag, msg)
                self.assertEqual(T.read_file(rej), b"".join(l + b"\n" for _, l, _ in self.bad))

    def test_rejects_file_is_appended_to(self):
        rej = T.write_file(self.path("rej.jsonl"), b"earlier\n")
        rc, out, err = render(["-f", "sms", "--rejects", rej], stdin=b"[]\n", env=self.env)
        self.assertEqual(rc, 65)
        self.assertEqual(T.read_file(rej), b"earlier\n[]\n")

    def test_invalid_fixtures(self):
        """Each tests/data/records/invalid fixture, one a line: its message."""
        names, lines = [], []
        for name in sorted(os.listdir(os.path.join(RECORDS, "invalid"))):
            if name.endswith(".json"):
                with open(os.path.join(RECORDS, "invalid", name), encoding="utf-8") as f:
                    fx = json.load(f)
                names.append((name, fx["expect_error"]))
                lines.append(T.dump_record(fx["record"]))
        rej = self.path("rej")
        rc, out, err = render(["-f", "webhook", "--rejects", rej], stdin=b"".join(lines),
                              env=self.env)
        self.assertEqual(rc, 65)
        self.assertEqual(out, b"")
        msgs = T.stderr_lines(err)
        self.assertEqual(len(msgs), len(names), err)
        for n, ((name, want), msg) in enumerate(zip(names, msgs), 1):
            with self.subTest(fixture=name):
                self.assertTrue(msg.startswith(f"pca-render: <stdin>:{n}: "), msg)
                self.assertIn(want, msg)
        self.assertEqual(T.read_file(rej), b"".join(lines))

    def test_invalid_utf8_forms_rejected(self):
        raw = examples()[1][0]
        for bad in (b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xe0\x80\xaf"):
            with self.subTest(bytes=bad):
                line = raw.replace(b"Dana wants", b"Dana " + bad + b" wants") + b"\n"
                rej = self.path("rej")
                rc, out, err = render(["-c", CONFIG, "-f", "webhook", "--rejects", rej],
                                      stdin=line, env=self.env)
                self.assertEqual(rc, 65, err)
                self.assertIn("<stdin>:1: invalid UTF-8", err)
                self.assertEqual(out, b"")
                self.assertEqual(T.read_file(rej), line)
                os.unlink(rej)

    def test_line_ends(self):
        """CRLF line ends, and a last record without a newline, are records."""
        lines = [raw for raw, _ in examples()[:3]]
        want = [r["call_id"] for _, r in examples()[:3]]
        for data in (b"\r\n".join(lines) + b"\r\n", b"\n".join(lines)):
            rc, out, err = render(["-c", CONFIG, "-f", "webhook"], stdin=data, env=self.env)
            self.assertEqual((rc, err), (0, ""))
            self.assertEqual([j["call_id"] for j in T.load_jsonl(out)], want)

    def test_raw_after_a_rejected_line(self):
        data = b"[]\n" + examples()[1][0] + b"\n{\n"
        rc, out, err = render(["-c", CONFIG, "-f", "webhook", "--raw"], stdin=data, env=self.env)
        self.assertEqual(rc, 65, err)
        self.assertEqual(json.loads(out)["data"]["call_id"], examples()[1][1]["call_id"])
        self.assertIn("<stdin>:1: not a JSON object", err)
        self.assertIn("<stdin>:3: not JSON", err)

    def test_empty_input(self):
        for data in (b"", b"\n\n  \n"):
            rc, out, err = render(["-c", CONFIG, "-f", "email"], stdin=data, env=self.env)
            self.assertEqual((rc, out, err), (0, b"", ""))

    def test_missing_file(self):
        good = T.write_file(self.path("good.jsonl"), examples()[0][0] + b"\n")
        missing = self.path("no-such-file.jsonl")
        rc, out, err = render(["-c", CONFIG, "-f", "webhook", missing, good], env=self.env)
        self.assertEqual(rc, 66, err)
        self.assertIn(missing, err)
        self.assertTrue(err.startswith("pca-render: "), err)
        self.assertEqual([j["call_id"] for j in T.load_jsonl(out)], [examples()[0][1]["call_id"]])

    def test_directory_as_input(self):
        good = T.write_file(self.path("good.jsonl"), examples()[0][0] + b"\n")
        rc, out, err = render(["-f", "webhook", self.tmp, good], env=self.env)
        self.assertEqual(rc, 66, err)
        self.assertIn(self.tmp, err)
        self.assertEqual(len(T.load_jsonl(out)), 1)

    def test_rejected_and_missing(self):
        """66 outranks 65."""
        rc, out, err = render(["-f", "sms", self.file, self.path("nope")], env=self.env)
        self.assertEqual(rc, 66, err)


class UsageTest(T.TempDirCase):

    def assert_usage(self, args, fragment, stdin=b""):
        rc, out, err = render(args, stdin=stdin, env=self.env)
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, b"")
        self.assertTrue(err.startswith("pca-render: "), err)
        self.assertIn(fragment, err)
        return err

    def test_usage_errors(self):
        cases = [
            ([], "missing -f"),
            (["-f", "fax"], 'unknown format "fax"'),
            (["-f"], "needs a value"),
            (["-f", "sms", "--bogus"], "unknown option --bogus"),
            (["-f", "sms", "-x"], "unknown option -x"),
            (["-c", CONFIG, "-f", "sms", "--action", WEBHOOK_ACTION], "is of type webhook"),
            (["-c", CONFIG, "-f", "email", "--action", "sms-owner"], "is of type sms"),
            (["-c", CONFIG, "-f", "sms", "--action", "nope"], 'no action "nope"'),
            (["-f", "sms", "--action", "email"], "is of type email"),
            (["-f", "sms", "--now", "yesterday"], "--now yesterday"),
            (["-f", "sms", "--rejects", "/nonexistent-dir/rej"], "/nonexistent-dir/rej"),
        ]
        for args, frag in cases:
            with self.subTest(args=args):
                err = self.assert_usage(args, frag)
                self.assertIn("--help", err)

    def test_unknown_option_in_a_cluster(self):
        for args in (["-f", "sms", "-xq"], ["-xq", "-f", "sms"], ["-f", "sms", "-qx"]):
            with self.subTest(args=args):
                err = self.assert_usage(args, "unknown option")
                self.assertEqual(err.splitlines()[0], "pca-render: unknown option -x")

    def test_raw_with_two_records(self):
        two = b"".join(raw + b"\n" for raw, _ in examples()[:2])
        self.assert_usage(["-c", CONFIG, "-f", "webhook", "--raw"], "--raw", two)

    def test_raw_with_two_actions(self):
        one = examples()[1][0] + b"\n"
        self.assert_usage(["-c", CONFIG, "-f", "sms", "--raw"], "--raw", one)
        rc, out, err = render(["-c", CONFIG, "-f", "sms", "--raw", "--action", "sms-short"],
                              stdin=one, env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith(b"Call from Dana Lee"), out)


class ConfigErrorTest(T.TempDirCase):

    def assert_config_error(self, cfg, where, fragment, fmt="sms"):
        rc, out, err = render(["-c", cfg, "-f", fmt], stdin=examples()[0][0] + b"\n",
                              env=self.env)
        self.assertEqual(rc, 78, err)
        self.assertEqual(out, b"")
        self.assertTrue(err.startswith("pca-render: "), err)
        self.assertIn(where, err)
        self.assertIn(fragment, err)

    def test_typo_in_action(self):
        cfg = T.write_config(self.tmp, "timezone: UTC\nactions:\n  - id: s\n    type: sms\n"
                                       "    to: \"+14155550100\"\n    max_segmnets: 2\n")
        self.assert_config_error(cfg, f"{cfg}:6:5:", '"max_segmnets"')

    def test_typo_at_top(self):
        cfg = T.write_config(self.tmp, "timezone: UTC\nacitons:\n  - id: s\n")
        self.assert_config_error(cfg, f"{cfg}:2:1:", '"acitons"')

    def test_template_syntax_error(self):
        tpl = T.write_file(self.path("tpl", "sms.mustache"), "Hi {{caller.display}}\n"
                                                            "{{#summary}}open\n")
        cfg = T.write_config(self.tmp, "actions:\n  - id: s\n    type: sms\n"
                                       "    to: \"+14155550100\"\n    templates:\n"
                                       "      sms: tpl/sms.mustache\n")
        self.assert_config_error(cfg, f"{tpl}:2:1:", "summary")

    def test_global_template_syntax_error(self):
        tpl = T.write_file(self.path("html.mustache"), "<p>\n\n  {{summary</p>\n")
        cfg = T.write_config(self.tmp, "templates:\n  email_html: html.mustache\n"
                                       "actions:\n  - id: e\n    type: email\n"
                                       "    from: a@pca.example\n    to: b@pca.example\n")
        self.assert_config_error(cfg, f"{tpl}:3:3:", "", fmt="email")

    def test_missing_config_file(self):
        cfg = self.path("none.yaml")
        self.assert_config_error(cfg, cfg, "No such file")

    def test_missing_template_file(self):
        cfg = T.write_config(self.tmp, "templates:\n  sms: gone.mustache\n"
                                       "actions:\n  - id: s\n    type: sms\n"
                                       "    to: \"+14155550100\"\n")
        self.assert_config_error(cfg, f"{cfg}:2:", "gone.mustache")


class OutputErrorTest(T.TempDirCase):

    def test_dev_full(self):
        with open("/dev/full", "wb") as full:
            rc, out, err = T.run([RENDER, "-c", CONFIG, "-f", "email", EXAMPLES],
                                 env=self.env, stdout=full)
        self.assertEqual(rc, 74, err)
        self.assertIn("pca-render: writing output failed", err)

    def test_dev_full_raw(self):
        with open("/dev/full", "wb") as full:
            rc, out, err = T.run([RENDER, "-f", "email", "--raw"],
                                 stdin=examples()[0][0] + b"\n", env=self.env, stdout=full)
        self.assertEqual(rc, 74, err)
        self.assertIn("writing output failed", err)

    def test_rejects_on_a_full_disk(self):
        rc, out, err = render(["-f", "sms", "--rejects", "/dev/full"], stdin=b"[]\n" * 5000,
                              env=self.env)
        self.assertEqual(rc, 74, err)
        self.assertIn("--rejects /dev/full", err)

    def test_reader_closes_pipe(self):
        big = T.write_file(self.path("many.jsonl"), T.read_file(EXAMPLES) * 10)
        p = subprocess.Popen([RENDER, "-c", CONFIG, "-f", "email", big], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env)
        self.assertEqual(len(p.stdout.read(10)), 10)
        p.stdout.close()
        err = p.stderr.read().decode("utf-8", "replace")
        p.stderr.close()
        rc = p.wait(timeout=60)
        self.assertGreater(rc, 0, f"killed by signal {-rc}" if rc < 0 else err)
        self.assertEqual(rc, 74, err)
        self.assertIn("writing output failed", err)
        self.assertEqual(len(T.stderr_lines(err)), 1, err)

    def test_head_c_10(self):
        big = T.write_file(self.path("many.jsonl"), T.read_file(EXAMPLES) * 10)
        r = subprocess.run(["/bin/bash", "-c",
                            '"$0" -f webhook "$1" | head -c 10; echo " ${PIPESTATUS[0]}"',
                            RENDER, big], capture_output=True, env=self.env, timeout=60)
        head, status = r.stdout.rsplit(b" ", 1)
        self.assertEqual(len(head), 10)
        self.assertEqual(int(status), 74, r.stderr)
        self.assertIn(b"writing output failed", r.stderr)


# =====================================================================
# 6. help, version, configuration discovery
# =====================================================================


class HelpVersionTest(T.TempDirCase):

    def test_help(self):
        for opt in ("--help", "-h"):
            rc, out, err = render([opt], env=self.env)
            self.assertEqual((rc, err), (0, ""))
            text = out.decode()
            self.assertTrue(text.startswith("usage: pca-render"), text)
            for word in ("--format", "--action", "--raw", "--now", "--rejects", "--quiet",
                         "Exit status", "65", "66", "74", "78"):
                self.assertIn(word, text)

    def test_help_on_a_full_stdout(self):
        with open("/dev/full", "wb") as full:
            rc, out, err = T.run([RENDER, "--help"], env=self.env, stdout=full)
        self.assertEqual(rc, 74, err)

    def test_version(self):
        with open(T.source_path("meson.build"), encoding="utf-8") as f:
            version = re.search(r"version:\s*'([^']+)'", f.read()).group(1)
        for opt in ("--version", "-V"):
            rc, out, err = render([opt], env=self.env)
            self.assertEqual((rc, err), (0, ""))
            lines = out.decode().splitlines()
            self.assertEqual(lines[0], f"pca-render {version}")
            # The libraries pca-render runs with; it sends nothing, so it
            # does not load libcurl (nor SQLite) and does not name them.
            for lib in ("json-c", "OpenSSL", "libyaml"):
                self.assertRegex(lines[1], re.escape(lib) + r" \d", lib)
            for lib in ("libcurl", "SQLite"):
                self.assertNotIn(lib, lines[1])


class ConfigDiscoveryTest(T.TempDirCase):

    one_action = "actions:\n  - id: {id}\n    type: webhook\n    url: https://x.example/\n"

    def action_ids(self, env):
        rc, out, err = render(["-f", "webhook"], stdin=examples()[0][0] + b"\n", env=env)
        self.assertEqual(rc, 0, err)
        return [j["action_id"] for j in T.load_jsonl(out)]

    def test_builtin(self):
        self.assertEqual(self.action_ids(self.env), ["webhook"])
        for fmt, action in (("sms", "sms"), ("email", "email")):
            rc, out, err = render(["-f", fmt, "--now", NOW], stdin=examples()[1][0] + b"\n",
                                  env=self.env)
            self.assertEqual(rc, 0, err)
            (j,) = T.load_jsonl(out)
            self.assertEqual(j["action_id"], action)
        msg = parse_email(j["message"].encode())
        self.assertEqual(msg["From"].addresses[0].addr_spec, "pca@localhost")
        self.assertEqual(msg["To"].addresses[0].addr_spec, "owner@localhost")

    def test_xdg_config_home(self):
        T.write_config(self.path(".config", "pca"), self.one_action.format(id="from-xdg"))
        self.assertEqual(self.action_ids(self.env), ["from-xdg"])

    def test_home_config_without_xdg(self):
        T.write_config(self.path(".config", "pca"), self.one_action.format(id="from-home"))
        env = T.clean_env(self.tmp, XDG_CONFIG_HOME=None)
        self.assertEqual(self.action_ids(env), ["from-home"])

    def test_pca_config_wins(self):
        T.write_config(self.path(".config", "pca"), self.one_action.format(id="from-xdg"))
        cfg = T.write_config(self.tmp, self.one_action.format(id="from-env"), name="env.yaml")
        self.assertEqual(self.action_ids(T.clean_env(self.tmp, PCA_CONFIG=cfg)), ["from-env"])

    def test_option_wins(self):
        cfg = T.write_config(self.tmp, self.one_action.format(id="from-env"), name="env.yaml")
        env = T.clean_env(self.tmp, PCA_CONFIG=cfg)
        rc, out, err = render(["-c", CONFIG, "-f", "webhook"], stdin=examples()[0][0] + b"\n",
                              env=env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(T.load_jsonl(out)[0]["action_id"], WEBHOOK_ACTION)

    def test_local_times_ignore_tz(self):
        """Times follow the configured zone (UTC by default), never $TZ."""
        for zone in ("Pacific/Auckland", "America/New_York"):
            with self.subTest(tz=zone):
                env = T.clean_env(self.tmp, TZ=zone)
                rc, out, err = render(["-c", CONFIG, "-f", "email", "--now", NOW, EXAMPLES],
                                      env=env)
                self.assertEqual(rc, 0, err)
                self.assertEqual(out, Rendered.get("email")[0])
                rc, out, err = render(["-f", "email", "--now", NOW],
                                      stdin=examples()[1][0] + b"\n", env=env)
                self.assertEqual(rc, 0, err)
                text, _ = email_parts(self, parse_email(T.load_jsonl(out)[0]["message"]
                                                        .encode()))
                self.assertIn("When:       Mon 23 Nov 2026 16:02 UTC\n", text)

    def test_when_skips_and_quiet(self):
        cfg = T.write_config(self.tmp, "actions:\n  - id: busy-only\n    type: sms\n"
                                       "    to: \"+14155550100\"\n    when:\n"
                                       "      status: [busy]\n")
        rc, out, err = render(["-c", cfg, "-f", "sms", EXAMPLES], env=self.env)
        self.assertEqual(rc, 0, err)
        busy = [r["call_id"] for _, r in examples() if r["status"] == "busy"]
        self.assertEqual([j["call_id"] for j in T.load_jsonl(out)], busy)
        self.assertEqual(len(T.stderr_lines(err)), len(examples()) - len(busy))
        self.assertIn("busy-only: skipped", err)
        rc, out2, err = render(["-c", cfg, "-f", "sms", "-q", EXAMPLES], env=self.env)
        self.assertEqual((rc, err, out2), (0, "", out))
        # --verbose: a line for each rendering too, with its place.
        rc, out2, err = render(["-c", cfg, "-f", "sms", "-v", EXAMPLES], env=self.env)
        self.assertEqual((rc, out2), (0, out))
        said = T.stderr_lines(err)
        self.assertEqual(len(said), len(examples()))
        self.assertEqual(len([s for s in said if s.endswith("action busy-only: rendered")]),
                         len(busy))
        # --action renders it whatever its "when" says.
        rc, out3, err = render(["-c", cfg, "-f", "sms", "--action", "busy-only", EXAMPLES],
                               env=self.env)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(len(T.load_jsonl(out3)), len(examples()))


class ValidFixturesTest(T.TempDirCase):
    """Every tests/data/records/valid fixture renders in every format."""

    def fixtures(self):
        out = []
        for name in sorted(os.listdir(os.path.join(RECORDS, "valid"))):
            if name.endswith(".json"):
                with open(os.path.join(RECORDS, "valid", name), encoding="utf-8") as f:
                    out.append((name, json.load(f)["record"]))
        self.assertGreater(len(out), 10)
        return out

    def test_all_formats(self):
        fixtures = self.fixtures()
        data = b"".join(T.dump_record(rec) for _, rec in fixtures)
        per = {"sms": 2, "email": 1, "webhook": 1}
        for fmt in ("sms", "email", "webhook"):
            with self.subTest(format=fmt):
                rc, out, err = render(["-c", CONFIG, "-f", fmt, "--now", NOW], stdin=data,
                                      env=self.env)
                self.assertEqual((rc, err), (0, ""))
                got = T.load_jsonl(out)
                self.assertEqual([j["call_id"] for j in got],
                                 [r["call_id"] for _, r in fixtures for _ in range(per[fmt])])
                for j, (name, rec) in zip(got[::per[fmt]], fixtures):
                    if fmt == "webhook":
                        self.assertEqual(json.loads(j["body"])["data"], expected_data(rec), name)
                    elif fmt == "sms":
                        self.assertLessEqual(j["segments"], 2, name)


# =====================================================================
# 7. a 50 MB transcript
# =====================================================================


class BigRecordTest(T.TempDirCase):
    SIZE = T.scale(50 * 1024 * 1024, 4 * 1024 * 1024)
    # Only a guard against a hang: speed is bench/render.sh's business, not a
    # test's (sanitizer builds on a shared machine are slow and noisy).
    HANG_S = 600

    @classmethod
    def setUpClass(cls):
        _, rec = example(RAW_CALL)
        rec = copy(rec)
        text = ("Grüße aus München — the quick brown fox <b>jumps</b> & runs 🦊 over the lazy "
                "dog; ") * 1200
        n = cls.SIZE // len(text.encode()) + 1
        rec["transcript"] = [{"role": "caller" if i % 2 else "agent", "text": text,
                              "start_ms": i * 100, "end_ms": i * 100 + 50} for i in range(n)]
        cls.rec = rec
        cls.text = text
        cls.line = T.dump_record(rec)
        assert len(cls.line) > cls.SIZE

    def timed(self, args):
        path = T.write_file(self.path("big.jsonl"), self.line)
        rc, out, err = render(["-c", CONFIG, "--now", NOW, *args, path], env=self.env,
                              timeout=self.HANG_S)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        return out

    def test_email(self):
        raw = self.timed(["-f", "email", "--raw"])
        # Text and HTML parts, each at least the transcript, QP-encoded.
        self.assertGreater(len(raw), 2 * self.SIZE)
        self.assertLess(len(raw), 8 * self.SIZE)
        self.assertTrue(raw.endswith(b"--\r\n"))
        lines = raw.split(b"\r\n")
        self.assertLessEqual(max(len(l) for l in lines), 998)
        body = lines[lines.index(b""):]
        self.assertLessEqual(max(len(l) for l in body), 76)
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""))
        head = raw[:raw.index(b"\r\n\r\n") + 4]
        msg = parse_email(head)
        self.assertEqual(str(msg["X-PCA-Call-ID"]), RAW_CALL)

    def test_email_jsonl(self):
        out = self.timed(["-f", "email"])
        (j,) = T.load_jsonl(out)
        self.assertGreater(len(j["message"]), 2 * self.SIZE)

    def test_webhook(self):
        out = self.timed(["-f", "webhook", "--raw"])
        self.assertGreater(len(out), self.SIZE)
        body = json.loads(out)
        self.assertEqual(body["data"], expected_data(self.rec))


if __name__ == "__main__":
    unittest.main()
