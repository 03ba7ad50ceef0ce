"""Checks lib/mime.c against Python's email package, through pca-test-mime-tool.

Python's parser (policy.default, and policy.strict, which raises on any
defect) is the independent reader: every header we write must parse without
defects, add no header, and decode back to the input.
"""
import base64
import binascii
import datetime
import email
import email.header
import email.utils
import json
import os
import quopri
import random
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcatest as T  # noqa: E402
from email import policy

BUILD = os.environ.get("PCA_BUILD_DIR", "build")
TOOL = os.path.join(BUILD, "tests", "pca-test-mime-tool")
SEED = int(os.environ.get("PCA_TEST_SEED", random.randrange(1 << 30)))
print(f"test_mime: random seed {SEED} (set PCA_TEST_SEED to repeat)", file=sys.stderr)

EW_RE = re.compile(rb"=\?([^?]*)\?([QqBb])\?([^?]*)\?=")


def tool(*args, data=b"", check=True):
    r = subprocess.run([TOOL, *args], input=data, capture_output=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"{args}: exit {r.returncode}: {r.stderr.decode(errors='replace')}")
    return r


def clean(text):
    """What the encoder promises to keep: controls become spaces, ends trimmed."""
    out = "".join(" " if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)
    return out.strip(" ")


def ew_payload(m):
    charset, enc, text = m.group(1), m.group(2).upper(), m.group(3)
    if enc == b"B":
        raw = base64.b64decode(text, validate=True)
    else:
        raw = quopri.decodestring(text.replace(b"_", b" "), header=False)
    return charset, raw


# Words of many scripts for subjects and names.
WORDS = [
    "Call", "from", "voicemail", "(+34 600 000 000)", "re:", "a", "I", "x", "---", "100%",
    "José", "García", "Ñandú", "Zoë", "Ångström", "façade", "crème", "brûlée", "Łódź",
    "Привет", "звонок", "Иван", "Петров", "日本語", "テキスト", "电话", "回拨", "한국어",
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇪🇸", "e\u0301", "عربى", "עברית", "ελληνικά", "हिन्दी", "ไทย",
    "=?UTF-8?Q?x?=", "?=", "=?", "a_b", "tab\tbed", "quote\"d", "back\\slash", "<angle>",
    "semi;colon", "x" * 90, "🧑‍💻" * 7,
]


def random_text(rng, nwords):
    return " ".join(rng.choice(WORDS) for _ in range(nwords))


class HeaderChecks:
    """Shared checks of one header field as written by the tool."""

    def check_lines(self, raw, max_ew_line=76):
        self.assertTrue(raw.endswith(b"\r\n"), raw)
        body = raw[:-2]
        self.assertNotIn(b"\r\n\r\n", raw)
        lines = body.split(b"\r\n")
        for i, line in enumerate(lines):
            self.assertNotIn(b"\r", line, raw)
            self.assertNotIn(b"\n", line, raw)
            self.assertNotIn(b"\0", line, raw)
            self.assertLessEqual(len(line), 998, raw)
            if i > 0:
                self.assertIn(line[:1], (b" ", b"\t"), f"continuation line {i} of {raw!r}")
                self.assertTrue(line.strip(), f"white-space-only line in {raw!r}")
            # a line may only be longer than 78 because one word is
            if len(line) > 78:
                longest = max(len(w) for w in line.split(b" "))
                self.assertGreater(longest + 10, 78, f"line {i} is {len(line)} long: {raw!r}")
                self.assertNotIn(b"=?", line, raw)
            if b"=?" in line:
                self.assertLessEqual(len(line), max_ew_line, f"line {i} of {raw!r}")
        for m in EW_RE.finditer(raw):
            self.assertLessEqual(len(m.group(0)), 75, m.group(0))
            charset, payload = ew_payload(m)
            self.assertEqual(charset, b"UTF-8")
            payload.decode("utf-8")  # never a split sequence
        return lines

    def parse(self, raw, pol=policy.default):
        msg = email.message_from_bytes(raw + b"\r\nbody\r\n", policy=pol)
        self.assertEqual(msg.defects, [])
        return msg


class TestHeaderText(unittest.TestCase, HeaderChecks):
    FIXED = [
        "Hello",
        "Call from Dana Lee (+1 415 555 0100), 3 min, callback requested",
        "Call summary: the caller asked about opening hours on Saturday and wants to book "
        "a table for six people at eight in the evening, please confirm by text message",
        "Call from José García (+34 600 000 000)",
        "Crème brûlée à la façade — Ångström naïve résumé coöperate",
        "Звонок от Ивана Петрова: перезвоните, пожалуйста, до конца рабочего дня",
        "来自张伟的电话：请在下午五点之前回电，谢谢。关于预约的问题需要确认",
        "東京 から の 電話",
        "New voicemail 📞🎉 from 👨‍👩‍👧‍👦 family 🇪🇸🇫🇷 and 👍🏽",
        "Mixed: Hello мир 世界 🌍 café",
        "x" * 500,
        " ".join(["word"] * 100),
        ("ünïcödé " * 70).strip(),
        "literal =?UTF-8?Q?x?= in text",
        "=?UTF-8?B?SGk=?=",
        "Hi\r\nBcc: evil@x",
        "Hi\nBcc: evil@x\r\nX-Evil: 1",
        "\r\n\r\nbody injection",
        "nul\x00byte and del\x7f and tab\there and bell\x07",
        "   leading and trailing spaces   ",
        "many" + " " * 60 + "spaces",
        "Zalgo: " + "a" + "\u0301\u0302\u0303\u0304\u0305" * 30,
        "",
        "a_b=c?d (e) \"f\" <g> [h]",
        "e\u0301 combining and Hangul \u1100\u1161\u11a8 jamo",
    ]

    def roundtrip(self, value, name="Subject"):
        data = value.encode("utf-8") if isinstance(value, str) else value
        raw = tool("header-text", name, data=data).stdout
        self.assertTrue(raw.startswith(name.encode() + b":"), raw)
        self.check_lines(raw)
        want = clean(data.decode("utf-8", errors="replace"))
        for pol in (policy.default, policy.strict):
            msg = self.parse(raw, pol)
            self.assertEqual(list(msg.keys()), [name], raw)
            self.assertEqual(str(msg[name]), want, raw)
            self.assertEqual(msg[name].defects, (), raw)
        ours = tool("header-decode", data=raw[len(name) + 1:]).stdout
        self.assertEqual(ours.decode("utf-8"), want, raw)
        return raw

    def test_fixed_subjects(self):
        for value in self.FIXED:
            with self.subTest(value=value[:40]):
                self.roundtrip(value)

    def test_ascii_stays_readable(self):
        raw = self.roundtrip("Call from Dana Lee (+1 415 555 0100)")
        self.assertEqual(raw, b"Subject: Call from Dana Lee (+1 415 555 0100)\r\n")

    def test_long_ascii_folds_at_spaces(self):
        raw = self.roundtrip(" ".join(["word"] * 100))
        lines = raw[:-2].split(b"\r\n")
        self.assertGreater(len(lines), 5)
        self.assertTrue(all(len(line) <= 78 for line in lines))
        self.assertNotIn(b"=?", raw)

    def test_500_char_subject(self):
        rng = random.Random(SEED)
        value = random_text(rng, 200)[:500].strip()
        self.roundtrip(value)

    def test_injection_adds_no_header(self):
        raw = self.roundtrip("Hi\r\nBcc: evil@x")
        self.assertEqual(raw, b"Subject: Hi  Bcc: evil@x\r\n")
        msg = self.parse(raw)
        self.assertIsNone(msg["Bcc"])

    def test_literal_encoded_word_is_encoded(self):
        raw = self.roundtrip("=?UTF-8?Q?x?=")
        self.assertNotIn(b"=?UTF-8?Q?x?=", raw)

    def test_invalid_utf8_becomes_replacement(self):
        raw = tool("header-text", "Subject", data=b"bad \xff\xfe byte \xe2\x82").stdout
        self.check_lines(raw)
        msg = self.parse(raw, policy.strict)
        self.assertEqual(msg["Subject"], "bad \ufffd\ufffd byte \ufffd\ufffd")

    def test_random_subjects(self):
        rng = random.Random(SEED + 1)
        for i in range(T.scale(150)):
            value = random_text(rng, rng.randint(1, 30))
            with self.subTest(i=i, value=value[:60]):
                self.roundtrip(value)

    def test_other_header_names(self):
        self.roundtrip("Équipe d’accueil — Acme", name="X-PCA-Agent")
        self.roundtrip("日本語" * 40, name="X-A-Rather-Long-Header-Name-For-Testing")


class TestHeaderRaw(unittest.TestCase, HeaderChecks):
    def test_short(self):
        raw = tool("header-raw", "Message-ID", data=b"<LX3K2J4.9ZQW8P2M1N@acme.example>").stdout
        self.assertEqual(raw, b"Message-ID: <LX3K2J4.9ZQW8P2M1N@acme.example>\r\n")

    def test_folds_at_white_space(self):
        value = "Acme Calls notifications for the front desk team in the Barcelona office <calls.acme.example>"
        raw = tool("header-raw", "List-Id", data=value.encode()).stdout
        lines = self.check_lines(raw)
        self.assertEqual(len(lines), 2)
        self.assertEqual(str(self.parse(raw)["List-Id"]), value)

    def test_line_breaks_become_spaces(self):
        raw = tool("header-raw", "X-Test", data=b"a\r\nBcc: b").stdout
        self.assertEqual(raw, b"X-Test: a  Bcc: b\r\n")


class TestMailboxes(unittest.TestCase, HeaderChecks):
    CASES = [
        ("", "owner@acme.example"),
        ("Acme Calls", "calls@acme.example"),
        ("Lee, Dana", "dana@example.com"),
        ("Dr. Who", "who@example.com"),
        ('Say "hi"', "hi@example.com"),
        ("back\\slash", "bs@example.com"),
        ("José García", "jose@example.es"),
        ("Владимир Владимирович Маяковский-Длиннофамильный", "vm@example.ru"),
        ("张伟", "zhang@example.cn"),
        ("Party 🎉 Bot", "bot@example.com"),
        ("=?UTF-8?Q?x?=", "ew@example.com"),
        ("O'Brien (Sales)", "ob@example.ie"),
        ("x" * 300, "long@example.com"),
        ("A very long but plain display name that will not fit on one line at all",
         "somebody.with.a.long.address@subdomain.example.com"),
    ]

    def header(self, pairs, name="To"):
        lines = []
        for n, a in pairs:
            if not n:
                lines.append(a)
            else:
                q = n.replace("\\", "\\\\").replace('"', '\\"')
                lines.append(f'"{q}" <{a}>')
        data = "\n".join(lines).encode()
        raw = tool("mailboxes", name, data=data).stdout
        self.check_lines(raw)
        return raw

    def check_addresses(self, raw, pairs, name="To"):
        # RFC 2047 6.2: white space between adjacent encoded-words is not
        # text. The legacy parser (getaddresses + decode_header) follows it;
        # policy.default's address parser shows that white space inside
        # display names (Python's own long names do not round-trip either),
        # so there the names are compared without white space.
        value = raw.decode("ascii")[len(name) + 1:].replace("\r\n", "")
        got = []
        for n, a in email.utils.getaddresses([value]):
            text = "".join(t.decode(cs or "ascii") if isinstance(t, bytes) else t
                           for t, cs in email.header.decode_header(n))
            got.append((text, a))
        self.assertEqual(got, pairs, raw)
        squeeze = lambda s: re.sub(r"\s+", "", s)
        for pol in (policy.default, policy.strict):
            msg = self.parse(raw, pol)
            self.assertEqual(list(msg.keys()), [name])
            got = [(squeeze(a.display_name), a.addr_spec) for a in msg[name].addresses]
            self.assertEqual(got, [(squeeze(n), a) for n, a in pairs], raw)
            self.assertEqual(msg[name].defects, (), raw)

    def test_each_alone(self):
        for n, a in self.CASES:
            with self.subTest(name=n[:30]):
                raw = self.header([(n, a)])
                self.check_addresses(raw, [(n, a)])

    def test_all_together(self):
        raw = self.header(self.CASES)
        self.check_addresses(raw, self.CASES)

    def test_plain_forms(self):
        raw = self.header([("Acme Calls", "calls@acme.example"), ("Lee, Dana", "dana@example.com")])
        self.assertEqual(raw, b'To: Acme Calls <calls@acme.example>, "Lee, Dana" <dana@example.com>\r\n')

    def test_folds_after_commas(self):
        pairs = [(f"Person {i}", f"person{i}@example.com") for i in range(12)]
        raw = self.header(pairs, name="Cc")
        for line in raw[:-2].split(b"\r\n")[:-1]:
            self.assertTrue(line.endswith(b">,"), raw)
        self.check_addresses(raw, pairs, name="Cc")

    def test_random_names(self):
        rng = random.Random(SEED + 2)
        pairs = []
        for i in range(40):
            pairs.append((random_text(rng, rng.randint(1, 6)).replace("\t", " "), f"u{i}@example.org"))
        for p in pairs:
            with self.subTest(name=p[0][:40]):
                self.check_addresses(self.header([p]), [(clean(p[0]), p[1])])

    def test_parse_errors(self):
        cases = [
            (b"owner.acme.example", 'not an email address: missing "@"'),
            (b"user@exa mple.com", 'email address: invalid domain "exa mple.com"'),
            (b"Dana <dana@example.com", "unbalanced angle brackets"),
            (b'"Dana <dana@example.com>', "unbalanced quote"),
            (b"a@b.com, c@d.com", "invalid local part"),
            (b"x@-bad-.com", "invalid domain"),
            (b"Name <>", "email address is empty"),
        ]
        for data, msg in cases:
            with self.subTest(data=data):
                r = tool("mailboxes", "To", data=data, check=False)
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stdout, b"")
                self.assertIn(msg, r.stderr.decode())

    def test_line_break_in_address_line(self):
        r = tool("mailboxes", "To", data=b"Dana <dana@example.com>\r\n", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("email address contains a line break", r.stderr.decode())


class TestQuotedPrintable(unittest.TestCase):
    SAMPLES = [
        "",
        "plain ascii\n",
        "no final newline",
        "trailing space \ntrailing tab\t\nboth \t\n",
        "trailing space at end ",
        ".\n..\n.x\n.",
        "From the start\nFrom me\nfrom lower\n>From quoted\n",
        "= sign =3D =\n",
        "x" * 75 + "\n" + "y" * 76 + "\n" + "z" * 77 + "\n" + "w" * 300,
        "é" * 40 + "\n" + "a" + "€" * 30,
        "CRLF\r\nlines\r\nmixed\nwith LF\n",
        "lone\rCR and CR CR LF\r\r\n",
        "controls \x01\x02\x1b[0m and DEL \x7f",
        "Здравствуйте! Это сообщение о пропущенном звонке. Пожалуйста, перезвоните.\n",
        "emoji 👨‍👩‍👧‍👦 " * 20,
    ]

    def check_encoded(self, enc):
        self.assertTrue(all(b < 0x80 for b in enc), "output is not pure ASCII")
        if not enc:
            return
        lines = enc.split(b"\r\n")
        self.assertNotIn(b"\n", enc.replace(b"\r\n", b""))
        self.assertNotIn(b"\r", enc.replace(b"\r\n", b""))
        for line in lines:
            self.assertLessEqual(len(line), 76, line)
            self.assertFalse(line.endswith((b" ", b"\t")), line)
            self.assertNotEqual(line, b".")
            self.assertFalse(line.startswith(b"From "), line)
            self.assertIsNone(re.search(rb"=(?![0-9A-F]{2})(?!$)", line), line)
            self.assertIsNone(re.search(rb"[^\t -~]", line), line)

    def roundtrip(self, data):
        enc = tool("qp-encode", data=data).stdout
        self.check_encoded(enc)
        want = re.sub(rb"\r?\n", b"\r\n", data)
        self.assertEqual(quopri.decodestring(enc), want)
        self.assertEqual(binascii.a2b_qp(enc), want)
        self.assertEqual(tool("qp-decode", data=enc).stdout, want)
        return enc

    def test_samples(self):
        for s in self.SAMPLES:
            with self.subTest(sample=s[:30]):
                self.roundtrip(s.encode("utf-8"))

    def test_exact(self):
        self.assertEqual(self.roundtrip(b"a b \nFrom x\n.\n"), b"a b=20\r\n=46rom x\r\n=2E\r\n")
        self.assertEqual(self.roundtrip(b"caf\xc3\xa9 = ok"), b"caf=C3=A9 =3D ok")

    def test_random_texts(self):
        rng = random.Random(SEED + 3)
        pieces = [" ", "\t", "\n", "\r\n", "\r", ".", "From ", "=", "_", "é", "€", "😀",
                  "👍🏽", "\x01", "\x7f", "x" * 80, "word ", "Привет ", "日本 ", " \n", "\t\n",
                  "\n.\n", "\nFrom "]
        for i in range(T.scale(150)):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
            with self.subTest(i=i, text=text[:40]):
                self.roundtrip(text.encode("utf-8"))

    def test_random_bytes(self):
        rng = random.Random(SEED + 4)
        for i in range(T.scale(60)):
            data = bytes(rng.randrange(1, 256) for _ in range(rng.randint(0, 400)))
            with self.subTest(i=i):
                self.roundtrip(data)

    def test_decode_errors(self):
        for bad in (b"=G1", b"abc=4", b"caf\xc3\xa9", b"bare\rcr"):
            with self.subTest(bad=bad):
                r = tool("qp-decode", data=bad, check=False)
                self.assertEqual(r.returncode, 1)
                self.assertIn("quoted-printable", r.stderr.decode())

    def test_decode_soft_breaks_and_transport_space(self):
        got = tool("qp-decode", data=b"ab=\r\ncd=  \r\nef  \r\ngh=\nij").stdout
        self.assertEqual(got, b"abcdef\r\nghij")


class TestDate(unittest.TestCase):
    def test_against_python(self):
        rng = random.Random(SEED + 5)
        times = [0, -1, 951782400, 2147483647, 2147483648, 4102444800, 253402300799,
                 -2208988800] + [rng.randrange(-2208988800, 253402300800) for _ in range(T.scale(1000))]
        got = tool("date", *map(str, times)).stdout.decode().splitlines()
        self.assertEqual(len(got), len(times))
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        for t, line in zip(times, got):
            dt = epoch + datetime.timedelta(seconds=t)
            self.assertEqual(line, email.utils.format_datetime(dt), t)
            self.assertEqual(email.utils.parsedate_to_datetime(line), dt)

    def test_known(self):
        self.assertEqual(tool("date", "0").stdout, b"Thu, 01 Jan 1970 00:00:00 +0000\n")
        self.assertEqual(tool("date", "1798456405").stdout, b"Mon, 28 Dec 2026 11:13:25 +0000\n")

    def test_clamped(self):
        self.assertEqual(tool("date", "-9223372036854775808").stdout,
                         b"Mon, 01 Jan 1900 00:00:00 +0000\n")
        self.assertEqual(tool("date", "9223372036854775807").stdout,
                         b"Fri, 31 Dec 9999 23:59:59 +0000\n")


class TestMessage(unittest.TestCase, HeaderChecks):
    def build(self, obj):
        raw = tool("message", data=json.dumps(obj).encode()).stdout
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""))
        self.assertTrue(all(b < 0x80 for b in raw))
        head, body = raw.split(b"\r\n\r\n", 1)
        for field in re.split(rb"\r\n(?![ \t])", head):
            self.check_lines(field + b"\r\n")
        for line in body.split(b"\r\n"):
            self.assertLessEqual(len(line), 76, line)
        return raw

    def check_message(self, obj):
        raw = self.build(obj)
        for pol in (policy.default, policy.strict):
            msg = email.message_from_bytes(raw, policy=pol)
            self.assertEqual(msg.defects, [])
            self.assertEqual(str(msg["Subject"]), clean(obj["subject"]))
            self.assertEqual(msg["From"].addresses[0].addr_spec, "calls@acme.example")
            self.assertEqual(len(msg["To"].addresses), len(obj["to"]))
            self.assertEqual(msg.get_content_type(), "multipart/alternative")
            parts = list(msg.iter_parts())
            self.assertEqual([p.get_content_type() for p in parts], ["text/plain", "text/html"])
            for part, key in zip(parts, ("text", "html")):
                self.assertEqual(part.defects, [])
                self.assertEqual(part["Content-Transfer-Encoding"], "quoted-printable")
                payload = part.get_payload(decode=True).decode("utf-8")
                self.assertEqual(payload.replace("\r\n", "\n"), obj[key].replace("\r\n", "\n"))
                self.assertEqual(part.get_content().replace("\r\n", "\n"),
                                 obj[key].replace("\r\n", "\n"))
        return raw

    def test_post_call_email(self):
        text = ("Call from José García (+34 600 000 000)\n"
                "Duration: 3 min 12 s\n\n"
                "Summary: wants a table for six on Saturday at 20:00.\n"
                "From the transcript:\n.\n"
                "Agent: Hello!   \nCaller: Hola, quería reservar una mesa para seis personas el sábado "
                "a las ocho de la tarde, por favor. 🙏\n")
        html = ("<html><body><h1>Call from José García</h1>\n"
                "<p style=\"color: #333\">Summary: wants a table for six on Saturday at 20:00 — "
                + "très bien " * 20 + "</p>\n</body></html>\n")
        self.check_message({
            "subject": "Call from José García (+34 600 000 000) — reservation 🍽️",
            "from": "Acme AI Receptionist <calls@acme.example>",
            "to": ["owner@acme.example", "Lee, Dana <dana@example.com>", "Иван <ivan@example.ru>"],
            "text": text,
            "html": html,
        })

    def test_random_messages(self):
        rng = random.Random(SEED + 6)
        for i in range(20):
            obj = {
                "subject": random_text(rng, rng.randint(1, 25)),
                "from": "Calls <calls@acme.example>",
                "to": [f"u{k}@example.org" for k in range(rng.randint(1, 8))],
                "text": "\n".join(random_text(rng, rng.randint(0, 40)) for _ in range(5)),
                "html": "<p>" + random_text(rng, 80) + "</p>",
            }
            with self.subTest(i=i):
                self.check_message(obj)


if __name__ == "__main__":
    unittest.main()
