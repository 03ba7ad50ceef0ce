"""pca-send-email against real SMTP servers on 127.0.0.1 that the tests
start (tests/cli/smtp_servers.py, Debian's python3-aiosmtpd): plain SMTP,
STARTTLS (required by the server or not), implicit TLS (smtps), AUTH PLAIN,
LOGIN and XOAUTH2, injected faults (421 and 451 to RCPT and DATA, 550 for
one recipient, a connection cut mid-DATA, a connection closed after the
whole message without a reply, no reply at all, a 421 greeting), bad
certificates, a fake sendmail, the spool (spooled, drained, listed,
counted, requeued, resent), --dry-run, secrets.

What the servers receive is read back with Python's email package (the
independent reader), and compared byte for byte with what
`pca-render -f email` prints for the same record, configuration and --now.

Environment: PCA_BUILD_DIR, PCA_SOURCE_DIR (set by meson). Debian's
/usr/bin/python3. Only 127.0.0.1 is contacted.
"""
import email
import email.utils
import json
import os
import re
import sys
import tempfile
import shutil
import time
import unicodedata
import unittest
from datetime import datetime, timezone
from email import policy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcatest as T  # noqa: E402
import servers as S  # noqa: E402
import smtp_servers as M  # noqa: E402
from smtp_servers import Fault  # noqa: E402

SEND = T.program("pca-send-email")
RENDER = T.program("pca-render")
EXAMPLES_PATH = T.source_path("examples", "calls.jsonl")
EXAMPLES = T.example_records()
CONTACTS = T.source_path("examples", "contacts.csv")

NOW = "2026-11-28T12:00:00Z"
NOW_DT = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)
# Its recording expired before NOW (2026-09-14).
EXPIRED_CALL = "call_01KKPF2RAK4XR0Q340WM9MW3T5"
RATE = 0.25

FROM = "Front Desk \u2014 pca <calls@pca.example>"
FROM_ADDR = "calls@pca.example"
TO = ["Owner <owner@pca.example>", "Jos\u00e9 N\u00fa\u00f1ez <jose@pca.example>"]
CC = ["Night Shift <night@pca.example>"]
BCC = ["audit-hidden@pca.example"]
ALL_ADDRS = ["owner@pca.example", "jose@pca.example", "night@pca.example",
             "audit-hidden@pca.example"]
SHOWN = ["o***@pca.example", "j***@pca.example", "n***@pca.example", "a***@pca.example"]

PASSWORD = "pw-Zq8#hunter2-\u00e9t\u00e9"
TOKEN = "ya29.a0AfH6SM-test-bearer-token-6b1f"
USER = "alice@pca.example"

DRY_RE = re.compile(rb"(?m)^# (smtps?://\S+)\r\nMAIL FROM:<([^>]*)>\r\nRCPT TO:<([^>]*)>\r\n"
                    rb"DATA\r\n")
SENDMAIL_DRY_RE = re.compile(rb"(?m)^# (\S+) -i -f (\S+) -- (\S+)\r\n")


def shared_certs():
    """The test PKI of servers.py (made once per process)."""
    make = getattr(S, "shared_certs", None) or getattr(S, "test_certs")
    return make()


def rfc3339(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def later(seconds):
    """--now for a run that should see the clock `seconds` ahead."""
    return rfc3339(int(time.time() + seconds))


def jsonl(records):
    return b"".join(T.dump_record(r) for r in records)


def parse_email(raw, strict=False):
    return email.message_from_bytes(raw, policy=policy.strict if strict else policy.default)


def dry_transactions(out, regex=DRY_RE):
    """[(url or program, envelope from, rcpt, message bytes)] of a --dry-run
    output: each transaction is its envelope lines, the message, and a line
    feed that is not part of it."""
    found = list(regex.finditer(out))
    res = []
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(out)
        block = out[m.end():end]
        if not block.endswith(b"\r\n\n"):
            raise AssertionError("a dry-run transaction not ending in CR LF LF: %r"
                                 % block[-40:])
        res.append((m.group(1).decode(), m.group(2).decode(), m.group(3).decode(),
                    block[:-1]))
    return res


def render_lines(test, records, config, env, now=NOW):
    """{call_id: line} of pca-render -f email (message, subject, message_id...)."""
    rc, out, err = T.run([RENDER, "-c", config, "-f", "email", "--now", now],
                         stdin=jsonl(records), env=env)
    test.assertEqual(rc, 0, err)
    return {j["call_id"]: j for j in T.load_jsonl(out)}


def render_raw(test, record, config, env, now=NOW):
    """The message pca-render -f email --raw prints for one record."""
    rc, out, err = T.run([RENDER, "-c", config, "-f", "email", "--raw", "--now", now],
                         stdin=T.dump_record(record), env=env)
    test.assertEqual(rc, 0, err)
    return out


def big_record(turns=1500, call_id="call_big_message"):
    """A record whose message is about 2 MB: long enough that a client is
    still sending when a server with a small window cuts the connection."""
    rec = json.loads(json.dumps(EXAMPLES[1]))
    rec["call_id"] = call_id
    rec["transcript"] = [{"role": "caller" if i % 2 else "agent",
                          "text": "Turn %d: " % i + "lorem ipsum dolor sit amet " * 15,
                          "start_ms": i * 1000} for i in range(turns)]
    return rec


class EmailCase(T.TempDirCase):
    """Runs pca-send-email, starts servers, and checks what comes out."""

    def setUp(self):
        super().setUp()
        self.certs = shared_certs()
        self.secrets = [PASSWORD, TOKEN]
        self.password_file = T.write_file(self.path("smtp.pw"), PASSWORD + "\n", 0o600)
        self.token_file = T.write_file(self.path("smtp.token"), TOKEN + "\n", 0o600)
        self.spool = self.path("spool.db")
        self.outputs = []

    def tearDown(self):
        # Whatever a test ran, no secret may have been printed, logged or
        # spooled.
        secret_files = {self.password_file, self.token_file}
        for text in self.outputs:
            for s in self.secrets:
                self.assertNotIn(s.encode(), text)
        for root, _, files in os.walk(self.tmp):
            for name in files:
                p = os.path.join(root, name)
                if p in secret_files:
                    continue
                data = T.read_file(p)
                for s in self.secrets:
                    self.assertNotIn(s.encode(), data, p)
        super().tearDown()

    # -- running --

    def server(self, **kw):
        s = M.SmtpServer(**kw).start()
        self.addCleanup(s.stop)
        return s

    def tls_server(self, **kw):
        return self.server(tls=self.certs.server, **kw)

    def send(self, *args, stdin=b"", env=None, timeout=120):
        rc, out, err = T.run([SEND, *args], stdin=stdin, env=env or self.env, timeout=timeout)
        self.outputs += [out, err.encode()]
        return rc, out, err

    def adhoc(self, url, *args, to=("owner@pca.example",), cc=(), bcc=(), tls="none",
              stdin=b"", env=None):
        """pca-send-email without a configuration (action id "email")."""
        argv = ["--from", FROM]
        for flag, addrs in (("--to", to), ("--cc", cc), ("--bcc", bcc)):
            for a in addrs:
                argv += [flag, a]
        argv += ["--smtp", url] + (["--tls", tls] if tls else [])
        return self.send(*argv, *args, stdin=stdin, env=env)

    def config(self, url=None, tls=None, smtp_extra=(), sendmail=None, to=TO, cc=CC, bcc=BCC,
               action="team", extra=(), name="config.yaml", cacert=True):
        """A configuration with one email action, like the pca-render golden
        one (contacts, Europe/Berlin, 0.25 credits a recipient)."""
        lines = ["timezone: Europe/Berlin", "region: US", "contacts: " + json.dumps(CONTACTS),
                 "credits:", "  email_recipient: %s" % RATE, "actions:",
                 "  - id: " + action, "    type: email", "    from: " + json.dumps(FROM),
                 "    to: " + json.dumps(list(to))]
        if cc:
            lines.append("    cc: " + json.dumps(list(cc)))
        if bcc:
            lines.append("    bcc: " + json.dumps(list(bcc)))
        lines += ["    " + x for x in extra]
        if sendmail:
            lines.append("    sendmail: " + json.dumps(sendmail))
        if url:
            lines += ["    smtp:", "      url: " + url]
            if tls:
                lines.append("      tls: " + tls)
            if cacert and url and (tls or "required") != "none":
                lines.append("      cacert: " + (cacert if isinstance(cacert, str)
                                                   else self.certs.ca_cert))
            lines += ["      " + x for x in smtp_extra]
        return T.write_config(self.tmp, "\n".join(lines) + "\n", name=name)

    def render(self, records, config, now=NOW):
        return render_lines(self, records, config, self.env, now)

    def render_raw(self, record, config, now=NOW):
        return render_raw(self, record, config, self.env, now)

    def adhoc_render_config(self, to=("owner@pca.example",), cc=(), bcc=()):
        """The configuration pca-render needs to print what an ad hoc run
        sends: one action "email", default credits and zone."""
        lines = ["actions:", "  - id: email", "    type: email", "    from: " + json.dumps(FROM),
                 "    to: " + json.dumps(list(to))]
        if cc:
            lines.append("    cc: " + json.dumps(list(cc)))
        if bcc:
            lines.append("    bcc: " + json.dumps(list(bcc)))
        return T.write_config(self.tmp, "\n".join(lines) + "\n", name="render.yaml")

    # -- checking --

    def check_records(self, records, out, actions=("team",)):
        return T.check_records(self, records, out, actions)

    def entry(self, record, out, action="team"):
        return self.check_records([record], out, (action,))[0][action]

    def check_error(self, e, status, code, attempts=1):
        self.assertEqual(e["status"], status, e)
        self.assertEqual(e["attempts"], attempts, e)
        self.assertEqual(e["error"]["code"], code, e)
        self.assertTrue(e["error"]["message"], e)

    def assert_well_formed(self, raw):
        """Python's reader finds no defect, strictly either; CRLF only."""
        msg = parse_email(raw)
        for part in msg.walk():
            self.assertEqual(list(part.defects), [], part.get_content_type())
            for name, value in part.items():
                self.assertEqual(tuple(value.defects), (), "%s: %s" % (name, value))
        for part in parse_email(raw, strict=True).walk():
            for name, value in part.items():
                str(value)
        self.assertTrue(raw.endswith(b"\r\n"))
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""), "a bare LF")
        self.assertNotIn(b"\r", raw.replace(b"\r\n", b""), "a bare CR")
        return msg

    def parts(self, msg):
        self.assertEqual(msg.get_content_type(), "multipart/alternative")
        parts = list(msg.iter_parts())
        self.assertEqual([p.get_content_type() for p in parts], ["text/plain", "text/html"])
        return [p.get_content().replace("\r\n", "\n") for p in parts]


# =====================================================================
# 1. every example, over SMTP, read back
# =====================================================================


class DeliveryTest(EmailCase):
    """The 26 examples sent once to a plain server (tls: none), four
    recipients each (two To, a Cc, a Bcc); the tests read the result."""

    @classmethod
    def setUpClass(cls):
        cls.home = tempfile.mkdtemp(prefix="pca-email-")
        cls.addClassCleanup(shutil.rmtree, cls.home, True)
        cls.srv = M.SmtpServer().start()
        cls.addClassCleanup(cls.srv.stop)
        case = cls("test_records_pass_through")
        case.tmp = cls.home
        case.env = T.clean_env(cls.home)
        case.certs = shared_certs()
        cls.cfg = case.config(cls.srv.url(), tls="none")
        cls.rendered = case.render(EXAMPLES, cls.cfg)
        cls.rc, cls.out, cls.err = T.run([SEND, "-c", cls.cfg, "--now", NOW, "-j", "4",
                                          EXAMPLES_PATH], env=case.env)
        cls.by_call = {}
        for t in cls.srv.accepted():
            call = parse_email(t.data)["X-PCA-Call-ID"]
            cls.by_call.setdefault(str(call), []).append(t)
        rc, cls.dry, err = T.run([SEND, "-c", cls.cfg, "--now", NOW, "-n", EXAMPLES_PATH],
                                 env=case.env)
        assert rc == 0, err

    def test_run(self):
        self.assertEqual(self.rc, 0, self.err)
        self.assertEqual(self.err, "")

    def test_records_pass_through(self):
        entries = self.check_records(EXAMPLES, self.out)
        self.assertEqual(len(entries), 26)

    def test_one_transaction_per_recipient(self):
        accepted = self.srv.accepted()
        self.assertEqual(len(accepted), 26 * 4)
        self.assertEqual(len(self.srv.snapshot()), 26 * 4, "a transaction that failed")
        self.assertEqual(set(self.by_call), {r["call_id"] for r in EXAMPLES})
        for call, ts in self.by_call.items():
            with self.subTest(call=call):
                self.assertEqual(sorted(t.rcpt_tos[0] for t in ts), sorted(ALL_ADDRS))
                for t in ts:
                    self.assertEqual(len(t.rcpts), 1, "one RCPT TO per transaction")
                    self.assertEqual(t.mail_from, FROM_ADDR)
                    self.assertFalse(t.tls)
                    self.assertIsNone(t.auth_user)
                # The same bytes for every recipient.
                self.assertEqual(len({t.data for t in ts}), 1)

    def test_message_is_what_pca_render_prints(self):
        for call, ts in self.by_call.items():
            with self.subTest(call=call):
                self.assertEqual(ts[0].data, self.rendered[call]["message"].encode("ascii"))

    def test_render_raw_same_bytes(self):
        for rec in (EXAMPLES[0], EXAMPLES[9], EXAMPLES[-1]):
            with self.subTest(call=rec["call_id"]):
                raw = render_raw(self, rec, self.cfg, self.env)
                self.assertEqual(self.by_call[rec["call_id"]][0].data, raw)

    def test_well_formed_and_headers(self):
        for rec in EXAMPLES:
            call = rec["call_id"]
            with self.subTest(call=call):
                raw = self.by_call[call][0].data
                msg = self.assert_well_formed(raw)
                addrs = lambda h: [a.addr_spec for a in msg[h].addresses]  # noqa: E731
                self.assertEqual(addrs("From"), [FROM_ADDR])
                self.assertEqual(msg["From"].addresses[0].display_name, "Front Desk \u2014 pca")
                self.assertEqual(addrs("To"), ["owner@pca.example", "jose@pca.example"])
                self.assertEqual(msg["To"].addresses[1].display_name, "Jos\u00e9 N\u00fa\u00f1ez")
                self.assertEqual(addrs("Cc"), ["night@pca.example"])
                self.assertIsNone(msg["Bcc"])
                self.assertNotIn(b"audit-hidden", raw)
                self.assertNotIn(b"bcc:", raw.lower())
                self.assertEqual(str(msg["X-PCA-Call-ID"]), call)
                self.assertEqual(email.utils.parsedate_to_datetime(str(msg["Date"])), NOW_DT)
                self.assertEqual(str(msg["Message-ID"]), "<pca.team.%s@pca.example>" % call)
                self.assertEqual(str(msg["Subject"]), self.rendered[call]["subject"])

    def test_subjects_in_several_scripts(self):
        scripts = set()
        for call, ts in self.by_call.items():
            subject = str(parse_email(ts[0].data)["Subject"])
            self.assertNotRegex(subject, r"[\r\n\t]")
            scripts |= {unicodedata.name(c).split()[0] for c in subject if ord(c) > 0x7F}
        self.assertLessEqual({"CYRILLIC", "GREEK", "ARABIC", "CJK", "LATIN"}, scripts)
        # A subject with a contact name in Japanese, decoded from RFC 2047.
        msg = parse_email(self.by_call["call_01M884AM2KT9CGBRJTQAS0WEYF"][0].data)
        self.assertIn("\u5c71\u7530 \u82b1\u5b50", str(msg["Subject"]))

    def test_parts_transcript_recording(self):
        seen_link = seen_expired = 0
        for rec in EXAMPLES:
            with self.subTest(call=rec["call_id"]):
                text, html = self.parts(parse_email(self.by_call[rec["call_id"]][0].data))
                if rec.get("summary"):
                    self.assertIn(rec["summary"], text)
                for turn in rec.get("transcript") or []:
                    self.assertIn(turn["text"], text)
                if not rec.get("transcript"):
                    self.assertIn("No transcript for this call.", text)
                if "recording" not in rec:
                    self.assertIn("This call was not recorded.", text)
                    self.assertIn("This call was not recorded.", html)
                elif rec["call_id"] == EXPIRED_CALL:
                    seen_expired += 1
                    self.assertIn("The recording expired on 14 Sep 2026 and is no longer "
                                  "available.", text)
                    self.assertNotIn(rec["recording"]["url"], text + html)
                else:
                    seen_link += 1
                    self.assertIn(rec["recording"]["url"] + "\nKept until ", text)
                    self.assertIn('href="' + rec["recording"]["url"].replace("&", "&amp;"), html)
        self.assertEqual(seen_expired, 1)
        self.assertGreater(seen_link, 10)

    def test_entries(self):
        for rec, e in zip(EXAMPLES, self.check_records(EXAMPLES, self.out)):
            e = e["team"]
            with self.subTest(call=rec["call_id"]):
                self.assertEqual(e["type"], "email")
                self.assertEqual(e["status"], "succeeded")
                self.assertEqual(e["provider"], "smtp")
                self.assertEqual(e["attempts"], 1)
                self.assertEqual(e["target"], SHOWN[0] + " and others")
                self.assertEqual(e["message_id"], self.rendered[rec["call_id"]]["message_id"])
                self.assertEqual(e["credits"], 4 * RATE)
                self.assertNotIn("error", e)
                self.assertEqual([r["target"] for r in e["recipients"]], SHOWN)
                for r in e["recipients"]:
                    self.assertEqual(r["status"], "succeeded")
                    self.assertEqual(r["smtp_code"], 250)
                    self.assertEqual(r["attempts"], 1)
                    self.assertEqual(r["started_at"][:10], "2026-11-28")
                # No full address in the results.
                self.assertNotIn("owner@pca.example", json.dumps(e))

    def test_dry_run_is_what_was_delivered(self):
        dry = dry_transactions(self.dry)
        self.assertEqual(len(dry), 26 * 4)
        got = sorted((t.mail_from, t.rcpt_tos[0], t.data) for t in self.srv.accepted())
        want = sorted((f, r, m) for _, f, r, m in dry)
        self.assertEqual(got, want)
        self.assertEqual({u for u, _, _, _ in dry}, {self.srv.url()})
        # Per record, To, Cc then Bcc.
        self.assertEqual([r for _, _, r, _ in dry[:4]], ALL_ADDRS)


# =====================================================================
# 2. TLS
# =====================================================================


class TlsTest(EmailCase):

    def test_starttls_required_by_default(self):
        s = self.tls_server(require_starttls=True)
        cfg = self.config(s.url(), to=["owner@pca.example"], cc=(), bcc=["audit@pca.example"])
        rc, out, err = self.send("-c", cfg, "--now", NOW, stdin=T.dump_record(EXAMPLES[2]))
        self.assertEqual(rc, 0, err)
        e = self.entry(EXAMPLES[2], out)
        self.assertEqual(e["status"], "succeeded", e)
        ts = s.accepted()
        self.assertEqual(sorted(t.rcpt_tos[0] for t in ts), ["audit@pca.example",
                                                            "owner@pca.example"])
        self.assertTrue(all(t.tls for t in ts))
        # Nothing but EHLO and STARTTLS in clear.
        clear = {c.verb for c in s.commands if not c.tls}
        self.assertLessEqual(clear, {"EHLO", "STARTTLS"})
        self.assertIn("STARTTLS", clear)
        self.assertEqual(ts[0].data, self.render_raw(EXAMPLES[2], cfg))

    def test_starttls_when_server_does_not_insist(self):
        s = self.tls_server()
        cfg = self.config(s.url(), to=["owner@pca.example"], cc=(), bcc=())
        rc, out, err = self.send("-c", cfg, stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, err)
        self.assertEqual([t.tls for t in s.accepted()], [True])

    def test_tls_optional_uses_starttls_when_offered(self):
        s = self.tls_server()
        cfg = self.config(s.url(), tls="optional", to=["owner@pca.example"], cc=(), bcc=())
        rc, out, err = self.send("-c", cfg, stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, err)
        self.assertEqual([t.tls for t in s.accepted()], [True])

    def test_tls_optional_against_plain_server(self):
        s = self.server()
        rc, out, err = self.adhoc(s.url(), tls="optional", stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, err)
        self.assertEqual([t.tls for t in s.accepted()], [False])

    def test_tls_none_against_plain_server(self):
        s = self.server()
        rc, out, err = self.adhoc(s.url(), tls="none", stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, err)
        e = self.entry(EXAMPLES[0], out, "email")
        self.assertEqual(e["status"], "succeeded")
        self.assertEqual(e["credits"], 1)
        self.assertEqual([t.tls for t in s.accepted()], [False])

    def test_tls_none_never_upgrades(self):
        s = self.tls_server()
        rc, out, err = self.adhoc(s.url(), tls="none", stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, err)
        self.assertNotIn("STARTTLS", s.verbs())
        self.assertEqual([t.tls for t in s.accepted()], [False])

    def test_server_without_starttls_when_required(self):
        s = self.server()
        for tls in (None, "required"):
            with self.subTest(tls=tls):
                rc, out, err = self.adhoc(s.url(), "--retries", "1", tls=tls,
                                          stdin=T.dump_record(EXAMPLES[0]))
                self.assertEqual(rc, 1, err)
                e = self.entry(EXAMPLES[0], out, "email")
                # Not temporary: no second attempt.
                self.check_error(e, "failed", "tls_required", attempts=1)
                self.assertEqual(e["credits"], 0)
        # Nothing was sent in clear: the server saw no MAIL FROM.
        self.assertEqual(s.snapshot(), [])
        self.assertEqual(set(s.verbs()), {"EHLO"})

    def check_refused(self, s, cfg, code="tls"):
        rc, out, err = self.send("-c", cfg, "--retries", "1", stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 1, err)
        e = self.entry(EXAMPLES[0], out)
        self.check_error(e, "failed", code, attempts=1)
        self.assertEqual(s.snapshot(), [], "a transaction after a refused certificate")
        self.assertNotIn("MAIL", s.verbs())
        return e

    def test_unknown_ca(self):
        s = self.tls_server()
        e = self.check_refused(s, self.config(s.url(), to=["owner@pca.example"], cc=(), bcc=(),
                                              cacert=False))
        self.assertIn("certificate", e["error"]["message"])

    def test_other_ca(self):
        s = self.tls_server()
        self.check_refused(s, self.config(s.url(), to=["owner@pca.example"], cc=(), bcc=(),
                                          cacert=self.certs.other_ca_cert))

    def test_certificate_for_another_host(self):
        s = self.server(tls=self.certs.wrong_host)
        e = self.check_refused(s, self.config(s.url(), to=["owner@pca.example"], cc=(), bcc=()))
        self.assertIn("127.0.0.1", e["error"]["message"])

    def test_tls_optional_still_verifies(self):
        s = self.tls_server()
        self.check_refused(s, self.config(s.url(), tls="optional", to=["owner@pca.example"],
                                          cc=(), bcc=(), cacert=False))

    def test_smtps(self):
        s = self.server(tls=self.certs.server, implicit=True)
        self.assertTrue(s.url().startswith("smtps://"))
        cfg = self.config(s.url(), to=["owner@pca.example"], cc=["night@pca.example"], bcc=())
        rc, out, err = self.send("-c", cfg, "--now", NOW, stdin=T.dump_record(EXAMPLES[3]))
        self.assertEqual(rc, 0, err)
        ts = s.accepted()
        self.assertEqual(len(ts), 2)
        self.assertTrue(all(t.tls for t in ts))
        self.assertTrue(all(c.tls for c in s.commands))
        self.assertNotIn("STARTTLS", s.verbs())
        self.assertEqual(ts[0].data, self.render_raw(EXAMPLES[3], cfg))

    def test_smtps_unknown_ca(self):
        s = self.server(tls=self.certs.server, implicit=True)
        self.check_refused(s, self.config(s.url(), to=["owner@pca.example"], cc=(), bcc=(),
                                          cacert=False))
        self.assertEqual(s.commands, [])

    def test_cacert_option_with_smtp(self):
        """--help: "--cacert FILE  trust the CA certificates in FILE (with
        --smtp)". Bug: the option reaches the HTTP options only, never the
        SMTP action (cmd/pca-send-email.c leaves pca_email_adhoc.cacert
        unset), so verification uses the system's CAs and fails."""
        s = self.tls_server()
        rc, out, err = self.adhoc(s.url(), "--cacert", self.certs.ca_cert, tls=None,
                                  stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, out[-300:])
        self.assertEqual(len(s.accepted()), 1)


# =====================================================================
# 3. AUTH
# =====================================================================


class AuthTest(EmailCase):

    def auth_server(self, **kw):
        return self.tls_server(auth={USER: PASSWORD}, auth_required=True, **kw)

    def auth_config(self, s, *more, **kw):
        return self.config(s.url(), to=["owner@pca.example"], cc=(), bcc=["audit@pca.example"],
                           smtp_extra=["user: " + json.dumps(USER)] + list(more), **kw)

    def test_plain_and_login_as_offered(self):
        for mechanisms, want in ((("PLAIN",), "PLAIN"), (("LOGIN",), "LOGIN"),
                                 (("PLAIN", "LOGIN"), None)):
            with self.subTest(mechanisms=mechanisms):
                s = self.auth_server(mechanisms=mechanisms)
                cfg = self.auth_config(s, "password_file: " + json.dumps(self.password_file))
                rc, out, err = self.send("-c", cfg, stdin=T.dump_record(EXAMPLES[0]))
                self.assertEqual(rc, 0, err)
                ts = s.accepted()
                self.assertEqual(len(ts), 2)
                for t in ts:
                    self.assertEqual(t.auth_user, USER)
                    self.assertTrue(t.tls)
                    self.assertIn(t.auth_mechanism, mechanisms)
                    if want:
                        self.assertEqual(t.auth_mechanism, want)
                # AUTH only over TLS.
                self.assertTrue(all(c.tls for c in s.commands if c.verb == "AUTH"))

    def test_adhoc_password_env_in_clear(self):
        """tls: none, AUTH offered in clear (a local relay): --password-env."""
        s = self.server(auth={USER: PASSWORD}, auth_required=True)
        env = T.clean_env(self.tmp, SMTP_PW=PASSWORD)
        rc, out, err = self.adhoc(s.url(), "--user", USER, "--password-env", "SMTP_PW",
                                  stdin=T.dump_record(EXAMPLES[0]), env=env)
        self.assertEqual(rc, 0, err)
        self.assertEqual([(t.auth_user, t.tls) for t in s.accepted()], [(USER, False)])

    def test_adhoc_password_file(self):
        s = self.server(auth={USER: PASSWORD}, auth_required=True, mechanisms=("LOGIN",))
        rc, out, err = self.adhoc(s.url(), "--user", USER, "--password-file",
                                  self.password_file, to=["a@pca.example", "b@pca.example"],
                                  stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, err)
        self.assertEqual([(t.auth_user, t.auth_mechanism) for t in s.accepted()],
                         [(USER, "LOGIN")] * 2)

    def test_password_file_smtps(self):
        s = self.server(tls=self.certs.server, implicit=True, auth={USER: PASSWORD},
                        auth_required=True)
        cfg = self.auth_config(s, "password_file: " + json.dumps(self.password_file))
        rc, out, err = self.send("-c", cfg, "-v", stdin=T.dump_record(EXAMPLES[1]))
        self.assertEqual(rc, 0, err)
        self.assertEqual([t.auth_user for t in s.accepted()], [USER, USER])
        self.assertIn("succeeded", err)

    def test_server_requires_auth_but_none_configured(self):
        s = self.tls_server(auth={USER: PASSWORD}, auth_required=True)
        cfg = self.config(s.url(), to=["owner@pca.example"], cc=(), bcc=())
        rc, out, err = self.send("-c", cfg, "--retries", "1", stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 1, err)
        e = self.entry(EXAMPLES[0], out)
        self.check_error(e, "failed", "smtp_530")
        self.assertEqual(s.accepted(), [])

    def test_wrong_password(self):
        s = self.tls_server(auth={USER: "another password"}, auth_required=True)
        cfg = self.auth_config(s, "password_file: " + json.dumps(self.password_file))
        log = self.path("attempts.jsonl")
        rc, out, err = self.send("-c", cfg, "--retries", "1", "--log", log, "-v",
                                 stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 1, err)
        e = self.entry(EXAMPLES[0], out)
        self.assertEqual(e["status"], "failed")
        for r in e["recipients"]:
            # Permanent: one attempt each. The code is the server's 535
            # (the brief's "auth" is used when no mechanism fits).
            self.assertEqual(r["attempts"], 1, r)
            self.assertIn(r["error"]["code"], ("smtp_535", "auth"), r)
            self.assertIn("535", r["error"]["message"])
        self.assertEqual(s.snapshot(), [])
        self.assertEqual(len(T.read_jsonl(log)), 2)

    def test_user_configured_but_server_offers_no_auth(self):
        """libcurl would go on without AUTH; the message is held back. One
        transaction at a time, so the second could reuse the connection."""
        s = self.tls_server()
        cfg = self.auth_config(s, "password_file: " + json.dumps(self.password_file))
        rc, out, err = self.send("-c", cfg, "--retries", "1", "--parallel", "1",
                                 stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 1, err)
        for r in self.entry(EXAMPLES[0], out)["recipients"]:
            self.check_error(r, "failed", "auth")
            self.assertIn("no authentication", r["error"]["message"])
        # The envelope went, the message did not: the transactions were left.
        self.assertEqual([t.outcome for t in s.snapshot()], ["abandoned"] * 2)
        self.assertEqual(s.accepted(), [])

    def test_no_common_mechanism(self):
        s = self.tls_server(tokens={USER: TOKEN}, mechanisms=("XOAUTH2",), auth_required=True)
        cfg = self.auth_config(s, "password_file: " + json.dumps(self.password_file))
        rc, out, err = self.send("-c", cfg, "--retries", "1", stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 1, err)
        for r in self.entry(EXAMPLES[0], out)["recipients"]:
            self.check_error(r, "failed", "auth")
        self.assertNotIn("AUTH", s.verbs())

    def test_xoauth2(self):
        s = self.tls_server(tokens={USER: TOKEN}, mechanisms=("XOAUTH2",), auth_required=True)
        cfg = self.auth_config(s, "oauth2_token_file: " + json.dumps(self.token_file))
        rc, out, err = self.send("-c", cfg, stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, err)
        ts = s.accepted()
        self.assertEqual([(t.auth_user, t.auth_mechanism, t.tls) for t in ts],
                         [(USER, "XOAUTH2", True)] * 2)

    def test_xoauth2_bad_token(self):
        s = self.tls_server(tokens={USER: "a-different-token"}, mechanisms=("XOAUTH2",),
                            auth_required=True)
        cfg = self.auth_config(s, "oauth2_token_file: " + json.dumps(self.token_file))
        rc, out, err = self.send("-c", cfg, "--retries", "1", stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 1, err)
        for r in self.entry(EXAMPLES[0], out)["recipients"]:
            self.assertEqual(r["status"], "failed")
            self.assertEqual(r["attempts"], 1)
        self.assertEqual(s.snapshot(), [])

    def test_secrets_not_in_dry_run_log_spool(self):
        s = self.auth_server()
        cfg = self.auth_config(s, "password_file: " + json.dumps(self.password_file))
        rc, out, err = self.send("-c", cfg, "-n", "--now", NOW, stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(dry_transactions(out)), 2)
        rc, out, err = self.send("-c", cfg, "-v", "--log", self.path("log.jsonl"),
                                 "--spool", self.spool, stdin=jsonl(EXAMPLES[:3]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(s.accepted()), 6)
        rc, out, err = self.send("--spool", self.spool, "--list")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(T.load_jsonl(out)), 6)
        # tearDown reads every output and every file (spool, -wal, log).
        self.assertTrue(os.path.exists(self.spool))


# =====================================================================
# 4. replies and broken connections
# =====================================================================


class FaultTest(EmailCase):

    def one(self, s, *args, rec=EXAMPLES[0], to=("owner@pca.example",), **kw):
        """One record to one recipient, ad hoc: (exit, entry, stderr)."""
        rc, out, err = self.adhoc(s.url(), "--timeout", "5", *args, to=to,
                                  stdin=T.dump_record(rec), **kw)
        return rc, self.entry(rec, out, "email"), err

    def test_451_to_rcpt_once_then_accepted(self):
        s = self.server(faults=[Fault("rcpt", "451 4.3.0 Try again later")])
        log = self.path("log.jsonl")
        rc, e, err = self.one(s, "--retries", "1", "--log", log)
        self.assertEqual(rc, 0, err)
        self.assertEqual(e["status"], "succeeded")
        self.assertEqual(e["attempts"], 2)
        self.assertEqual(len(s.accepted()), 1)
        lines = [j for _, j in T.read_jsonl(log)]
        self.assertEqual([(j["attempt"], j.get("error")) for j in lines],
                         [(1, "smtp_451"), (2, None)])
        self.assertEqual(lines[0]["message"], "451 4.3.0 Try again later")
        self.assertEqual(lines[0]["key"], "pca:email:%s:owner@pca.example" % EXAMPLES[0]["call_id"])
        self.assertEqual(lines[0]["channel"], "email")
        for j in lines:
            self.assertEqual(j["target"], "o***@pca.example")
            self.assertNotIn("owner@pca.example", json.dumps({k: v for k, v in j.items()
                                                              if k != "key"}))

    def test_451_after_data_once(self):
        s = self.server(faults=[Fault("data", "451 4.3.0 Queue full")])
        rc, e, err = self.one(s, "--retries", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual((e["status"], e["attempts"]), ("succeeded", 2))
        got = s.snapshot()
        self.assertEqual([t.outcome for t in got], ["refused", "accepted"])
        # The same bytes again.
        self.assertEqual(got[0].data, got[1].data)

    def test_421_without_spool_fails(self):
        s = self.server(faults=[Fault("rcpt", "421 4.3.2 Busy", times=None)])
        rc, e, err = self.one(s, "--retries", "1")
        self.assertEqual(rc, 1, err)
        self.check_error(e, "failed", "smtp_421", attempts=2)
        self.assertEqual(e["smtp_code"], 421)
        self.assertEqual(e["error"]["message"], "421 4.3.2 Busy")
        self.assertNotIn("next_attempt_at", e)
        self.assertEqual(s.accepted(), [])

    def test_421_greeting_is_temporary(self):
        s = self.server(faults=[Fault("connect", "421 4.3.2 Not now")])
        rc, e, err = self.one(s, "--retries", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual((e["status"], e["attempts"]), ("succeeded", 2))

    def test_spooled_then_drained(self):
        """421 to RCPT, then 451 after DATA: spooled (exit 75); a drain at
        the right time delivers the very same message."""
        for fault in (Fault("rcpt", "421 4.3.2 Busy", times=None),
                      Fault("data", "451 4.3.0 Queue full", times=None)):
            with self.subTest(fault=fault.at):
                if os.path.exists(self.spool):
                    for suffix in ("", "-wal", "-shm"):
                        if os.path.exists(self.spool + suffix):
                            os.remove(self.spool + suffix)
                s = self.server(faults=[fault])
                rec = EXAMPLES[4]
                rc, e, err = self.one(s, "--retries", "1", "--spool", self.spool, rec=rec)
                self.assertEqual(rc, 75, err)
                self.check_error(e, "spooled", "smtp_" + fault.reply[:3], attempts=2)
                nxt = datetime.fromisoformat(e["next_attempt_at"].replace("Z", "+00:00"))
                self.assertGreater(nxt.timestamp(), time.time() + 3 * 60)
                self.assertLess(nxt.timestamp(), time.time() + 7 * 60)
                first = [t.data for t in s.snapshot() if t.data]
                rc, out, err = self.send("--spool", self.spool, "--count", "--status", "pending")
                self.assertEqual((rc, out), (0, b"1\n"), err)
                # Not due yet: nothing sent, nothing written.
                rc, out, err = self.adhoc(s.url(), "--spool", self.spool, "--drain")
                self.assertEqual((rc, out), (0, b""), err)
                self.assertEqual(len(s.snapshot()), 2)
                # Due, but the server still refuses: back to the spool.
                rc, out, err = self.adhoc(s.url(), "--spool", self.spool, "--drain",
                                          "--now", later(3600))
                self.assertEqual((rc, out), (75, b""), err)
                self.assertEqual(len(s.snapshot()), 3)
                # Cured.
                s.set_faults([])
                rc, out, err = self.adhoc(s.url(), "--spool", self.spool, "--drain",
                                          "--now", later(3 * 3600))
                self.assertEqual(rc, 0, err)
                e = self.entry(rec, out, "email")
                self.assertEqual((e["status"], e["attempts"]), ("succeeded", 4))
                self.assertNotIn("error", e)
                (t,) = s.accepted()
                if first:
                    self.assertEqual(t.data, first[0])
                self.assertIn(b"X-PCA-Call-ID: " + rec["call_id"].encode(), t.data)
                rc, out, err = self.send("--spool", self.spool, "--count", "--status", "done")
                self.assertEqual((rc, out), (0, b"1\n"), err)

    def test_550_for_one_of_two(self):
        s = self.server(faults=[Fault("rcpt", "550 5.1.1 <jose@pca.example>: no such user",
                                      rcpt="jose@pca.example", times=None)])
        cfg = self.config(s.url(), tls="none", cc=(), bcc=())
        rc, out, err = self.send("-c", cfg, "--retries", "1", "--spool", self.spool,
                                 stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 1, err)
        e = self.entry(EXAMPLES[0], out)
        self.assertEqual(e["status"], "failed")
        self.assertEqual(e["credits"], RATE)
        ok, bad = e["recipients"]
        self.assertEqual((ok["target"], ok["status"], ok["attempts"], ok["smtp_code"]),
                         ("o***@pca.example", "succeeded", 1, 250))
        self.assertEqual((bad["target"], bad["status"], bad["attempts"], bad["smtp_code"]),
                         ("j***@pca.example", "failed", 1, 550))
        self.assertEqual(bad["error"], {"code": "smtp_550",
                                        "message": "550 5.1.1 <jose@pca.example>: no such user"})
        self.assertEqual([t.rcpt_tos for t in s.accepted()], [["owner@pca.example"]])
        rc, out, err = self.send("--spool", self.spool, "--count", "--status", "dead")
        self.assertEqual((rc, out), (0, b"1\n"), err)

    def test_cut_mid_data_is_retried(self):
        s = self.server(faults=[Fault("data_drop", after=65536)], rcvbuf=16384)
        rec = big_record()
        log = self.path("log.jsonl")
        rc, e, err = self.one(s, "--retries", "1", "--log", log, rec=rec)
        self.assertEqual(rc, 0, err)
        self.assertEqual((e["status"], e["attempts"]), ("succeeded", 2))
        got = s.snapshot()
        self.assertEqual([t.outcome for t in got], ["dropped", "accepted"])
        self.assertEqual(len(got[0].data), 65536)
        self.assertGreater(len(got[1].data), 1 << 20)
        self.assertTrue(got[1].data.startswith(got[0].data))
        first = T.read_jsonl(log)[0][1]
        self.assertIn(first["error"], ("reset", "network"))

    def test_closed_after_data_is_ambiguous(self):
        s = self.server(faults=[Fault("data_close")])
        rc, e, err = self.one(s, "--retries", "2", "--spool", self.spool, "--now", NOW)
        self.assertEqual(rc, 1, err)
        self.check_error(e, "failed", "ambiguous", attempts=1)
        self.assertIn("--retry-ambiguous", e["error"]["message"])
        got = s.snapshot()
        self.assertEqual([t.outcome for t in got], ["closed"])
        # The whole message had arrived.
        self.assertEqual(got[0].data, self.render_raw(EXAMPLES[0], self.adhoc_render_config()))
        # Not sent again by a drain either.
        rc, out, err = self.adhoc(s.url(), "--spool", self.spool, "--drain", "--now",
                                  later(86400))
        self.assertEqual((rc, out), (0, b""), err)
        self.assertEqual(len(s.snapshot()), 1)

    def test_retry_ambiguous_sends_again(self):
        s = self.server(faults=[Fault("data_close")])
        rc, e, err = self.one(s, "--retries", "1", "--retry-ambiguous")
        self.assertEqual(rc, 0, err)
        self.assertEqual((e["status"], e["attempts"]), ("succeeded", 2))
        got = s.snapshot()
        self.assertEqual([t.outcome for t in got], ["closed", "accepted"])
        self.assertEqual(got[0].data, got[1].data)

    def test_no_reply_after_data_times_out_ambiguous(self):
        s = self.server(faults=[Fault("data_stall", stall=6)])
        rc, e, err = self.one(s, "--retries", "1", "--timeout", "1")
        self.assertEqual(rc, 1, err)
        self.check_error(e, "failed", "ambiguous", attempts=1)
        self.assertIn("timeout", e["error"]["message"])
        self.assertLess(e["latency_ms"], 4000)  # cut by --timeout, not by the server
        self.assertEqual([t.outcome for t in s.snapshot()], ["stalled"])

    def test_stalled_server_does_not_hold_the_run(self):
        """After the reply to DATA times out, libcurl sends QUIT and waits
        for its reply: that wait must be bounded by --timeout too, or every
        other transfer waits with it."""
        s = self.server(faults=[Fault("data_stall", stall=8)])
        t0 = time.monotonic()
        rc, e, err = self.one(s, "--retries", "0", "--timeout", "1")
        self.assertEqual(e["error"]["code"], "ambiguous")
        # Well under the stall, with room for a loaded machine.
        self.assertLess(time.monotonic() - t0, 6.0)

    def test_slow_replies_to_data_overlap(self):
        """libcurl waits for the reply to the end of DATA inside its multi
        handle (curl issue 8555); --parallel must still mean transactions
        side by side, or one slow server makes a batch crawl."""
        import asyncio
        import threading
        from aiosmtpd.controller import Controller

        class Slow:
            now = most = taken = 0
            lock = threading.Lock()

            async def handle_DATA(self, server, session, envelope):
                with self.lock:
                    Slow.now += 1
                    Slow.most = max(Slow.most, Slow.now)
                # Long enough that the other transaction reaches DATA in
                # the meantime even on a loaded machine.
                await asyncio.sleep(1.0)
                with self.lock:
                    Slow.now -= 1
                    Slow.taken += 1
                return "250 2.0.0 Queued"

        with S.RefusedPort() as p:
            port = p.port
        c = Controller(Slow(), hostname="127.0.0.1", port=port)
        c.start()
        self.addCleanup(c.stop)
        to = ["a@pca.example", "b@pca.example", "c@pca.example", "d@pca.example"]
        rc, out, err = self.adhoc("smtp://127.0.0.1:%d" % port, "--parallel", "4", to=to,
                                  stdin=jsonl(EXAMPLES[:2]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(Slow.taken, 8)
        self.assertGreaterEqual(Slow.most, 2, "the transactions ran one after another")
        # Two recipients, two at once: the second must not wait for the first.
        Slow.most = 0
        rc, out, err = self.adhoc("smtp://127.0.0.1:%d" % port, "--parallel", "2", to=to[:2],
                                  stdin=jsonl(EXAMPLES[:1]))
        self.assertEqual(rc, 0, err)
        self.assertEqual((Slow.taken, Slow.most), (10, 2))

    def test_refused_connection(self):
        with S.RefusedPort() as p:
            rc, out, err = self.adhoc("smtp://127.0.0.1:%d" % p.port, "--retries", "0",
                                      stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 1, err)
        self.check_error(self.entry(EXAMPLES[0], out, "email"), "failed", "connect")


# =====================================================================
# 5. sendmail
# =====================================================================

FAKE_SENDMAIL = """#!/bin/sh
# A sendmail that keeps its arguments and its input, then exits $FAKE_EXIT.
d=%s
n=$(ls "$d" | wc -l)
printf '%%s\\n' "$@" > "$d/$n.argv"
cat > "$d/$n.msg"
exit ${FAKE_EXIT:-0}
"""


class SendmailTest(EmailCase):

    def setUp(self):
        super().setUp()
        self.calls = self.path("calls")
        os.makedirs(self.calls)
        self.prog = T.write_file(self.path("fake-sendmail"), FAKE_SENDMAIL % self.calls, 0o755)

    def invocations(self):
        out = []
        names = sorted((f for f in os.listdir(self.calls) if f.endswith(".argv")),
                       key=lambda f: int(f.split(".")[0]))
        for f in names:
            argv = T.read_file(os.path.join(self.calls, f)).decode().split("\n")[:-1]
            msg = T.read_file(os.path.join(self.calls, f.replace(".argv", ".msg")))
            out.append((argv, msg))
        return out

    def test_one_call_per_recipient(self):
        cfg = self.config(sendmail=self.prog, extra=['envelope_from: "bounces@pca.example"'])
        rec = EXAMPLES[7]
        rc, out, err = self.send("-c", cfg, "--now", NOW, stdin=T.dump_record(rec))
        self.assertEqual(rc, 0, err)
        e = self.entry(rec, out)
        self.assertEqual((e["status"], e["provider"], e["credits"]), ("succeeded", "sendmail",
                                                                      4 * RATE))
        calls = self.invocations()
        self.assertEqual([a for a, _ in calls],
                         [["-i", "-f", "bounces@pca.example", "--", a] for a in ALL_ADDRS])
        want = self.render_raw(rec, cfg)
        for _, msg in calls:
            self.assertNotIn(b"\r", msg)
            self.assertEqual(msg, want.replace(b"\r\n", b"\n"))
            self.assertNotIn(b"audit-hidden", msg)
        msg = parse_email(calls[0][1])
        self.assertEqual(str(msg["X-PCA-Call-ID"]), rec["call_id"])
        self.assertIn("J\u00fcrgen Wei\u00df", str(msg["Subject"]))

    def test_sendmail_option_overrides_smtp(self):
        s = self.server()
        cfg = self.config(s.url(), tls="none", to=["owner@pca.example"], cc=(), bcc=())
        rc, out, err = self.send("-c", cfg, "--sendmail=" + self.prog,
                                 stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.entry(EXAMPLES[0], out)["provider"], "sendmail")
        self.assertEqual(s.snapshot(), [])
        self.assertEqual([a for a, _ in self.invocations()],
                         [["-i", "-f", FROM_ADDR, "--", "owner@pca.example"]])

    def test_exit_75_is_temporary(self):
        env = T.clean_env(self.tmp, FAKE_EXIT="75")
        argv = ["--from", FROM, "--to", "owner@pca.example", "--sendmail=" + self.prog,
                "--retries", "1"]
        rc, out, err = self.send(*argv, stdin=T.dump_record(EXAMPLES[0]), env=env)
        self.assertEqual(rc, 1, err)
        e = self.entry(EXAMPLES[0], out, "email")
        self.check_error(e, "failed", "sendmail", attempts=2)
        self.assertIn("75", e["error"]["message"])
        argv[-1] = "0"
        rc, out, err = self.send(*argv, "--spool", self.spool, stdin=T.dump_record(EXAMPLES[0]),
                                 env=env)
        self.assertEqual(rc, 75, err)
        self.assertEqual(self.entry(EXAMPLES[0], out, "email")["status"], "spooled")
        # Drained once the MTA takes it.
        rc, out, err = self.send("--from", FROM, "--to", "owner@pca.example",
                                 "--sendmail=" + self.prog, "--spool", self.spool, "--drain",
                                 "--now", later(3600))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.entry(EXAMPLES[0], out, "email")["status"], "succeeded")
        self.assertEqual(len(self.invocations()), 2 + 1 + 1)

    def test_exit_1_is_permanent(self):
        env = T.clean_env(self.tmp, FAKE_EXIT="1")
        rc, out, err = self.send("--from", FROM, "--to", "owner@pca.example",
                                 "--sendmail=" + self.prog, "--retries", "2",
                                 stdin=T.dump_record(EXAMPLES[0]), env=env)
        self.assertEqual(rc, 1, err)
        self.check_error(self.entry(EXAMPLES[0], out, "email"), "failed", "sendmail")
        self.assertEqual(len(self.invocations()), 1)

    def test_missing_program(self):
        rc, out, err = self.send("--from", FROM, "--to", "owner@pca.example",
                                 "--sendmail=" + self.path("no-such-sendmail"),
                                 stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 1, err)
        e = self.entry(EXAMPLES[0], out, "email")
        self.assertEqual(e["status"], "failed")
        self.assertIn("no-such-sendmail", e["error"]["message"])

    def test_dry_run(self):
        cfg = self.config(sendmail=self.prog)
        rc, out, err = self.send("-c", cfg, "-n", "--now", NOW, stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, err)
        got = dry_transactions(out, SENDMAIL_DRY_RE)
        self.assertEqual([(p, f, r) for p, f, r, _ in got],
                         [(self.prog, FROM_ADDR, a) for a in ALL_ADDRS])
        self.assertEqual(got[0][3], self.render_raw(EXAMPLES[0], cfg))
        self.assertEqual(self.invocations(), [])


# =====================================================================
# 6. the spool, idempotency, resending
# =====================================================================


class SpoolTest(EmailCase):

    def test_sent_once_then_skipped_then_resent(self):
        s = self.server()
        cfg = self.config(s.url(), tls="none", cc=(), bcc=())
        recs = EXAMPLES[:3]
        rc, out, err = self.send("-c", cfg, "--spool", self.spool, stdin=jsonl(recs))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(s.accepted()), 6)
        rc, out, err = self.send("-c", cfg, "--spool", self.spool, stdin=jsonl(recs))
        self.assertEqual(rc, 0, err)
        for e in self.check_records(recs, out):
            e = e["team"]
            self.assertEqual((e["status"], e["credits"]), ("skipped", 0))
            for r in e["recipients"]:
                self.assertEqual(r["error"]["code"], "already_delivered")
        self.assertEqual(len(s.accepted()), 6)
        rc, out, err = self.send("--spool", self.spool, "--count", "--status", "done")
        self.assertEqual((rc, out), (0, b"6\n"), err)
        # Resend one call, found in the input.
        rc, out, err = self.send("-c", cfg, "--spool", self.spool, "--resend", "-a", "team",
                                 stdin=T.dump_record(recs[1]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.entry(recs[1], out)["status"], "succeeded")
        again = s.accepted()[6:]
        self.assertEqual(sorted(t.rcpt_tos[0] for t in again),
                         ["jose@pca.example", "owner@pca.example"])
        self.assertTrue(all(recs[1]["call_id"].encode() in t.data for t in again))

    def test_list_and_requeue(self):
        s = self.server(faults=[Fault("rcpt", "452 4.2.2 Mailbox full", times=None)])
        cfg = self.config(s.url(), tls="none", to=["owner@pca.example"], cc=(), bcc=())
        rc, out, err = self.send("-c", cfg, "--spool", self.spool, "--retries", "0",
                                 stdin=jsonl(EXAMPLES[:2]))
        self.assertEqual(rc, 75, err)
        rc, out, err = self.send("--spool", self.spool, "--list", "--status", "pending")
        self.assertEqual(rc, 0, err)
        listed = T.load_jsonl(out)
        self.assertEqual([r["call_id"] for r in listed], [r["call_id"] for r in EXAMPLES[:2]])
        for r in listed:
            e = r["post_call_actions"][-1]
            self.assertEqual((e["action_id"], e["status"]), ("team", "spooled"))
            self.assertEqual(e["error"]["code"], "smtp_452")
        s.set_faults([])
        rc, out, err = self.send("--spool", self.spool, "--requeue", "--status", "pending")
        self.assertEqual(rc, 0, err)
        rc, out, err = self.send("-c", cfg, "--spool", self.spool, "--drain")
        self.assertEqual(rc, 0, err)
        self.check_records(EXAMPLES[:2], out)
        self.assertEqual(len(s.accepted()), 2)


# =====================================================================
# 7. --dry-run, configuration and usage
# =====================================================================


class DryRunTest(EmailCase):

    def test_adhoc_dry_run_equals_send(self):
        s = self.server()
        to, cc, bcc = ["Owner <owner@pca.example>"], ["night@pca.example"], ["hidden@pca.example"]
        rc, dry, err = self.adhoc(s.url(), "-n", "--now", NOW, to=to, cc=cc, bcc=bcc,
                                  stdin=jsonl(EXAMPLES[:2]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(s.snapshot(), [], "a dry run connected")
        rc, out, err = self.adhoc(s.url(), "--now", NOW, to=to, cc=cc, bcc=bcc,
                                  stdin=jsonl(EXAMPLES[:2]))
        self.assertEqual(rc, 0, err)
        txs = dry_transactions(dry)
        self.assertEqual([r for _, _, r, _ in txs],
                         ["owner@pca.example", "night@pca.example", "hidden@pca.example"] * 2)
        self.assertEqual(sorted((f, r, m) for _, f, r, m in txs),
                         sorted((t.mail_from, t.rcpt_tos[0], t.data) for t in s.accepted()))
        render_cfg = self.adhoc_render_config(to, cc, bcc)
        self.assertEqual(txs[0][3], self.render_raw(EXAMPLES[0], render_cfg))
        self.assertNotIn(b"hidden@", txs[0][3])

    def test_dry_run_sends_nothing_and_opens_no_spool(self):
        with S.RefusedPort() as p:
            rc, out, err = self.adhoc("smtp://127.0.0.1:%d" % p.port, "-n", "--spool",
                                      self.spool, stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(dry_transactions(out)), 1)
        self.assertFalse(os.path.exists(self.spool))


class UsageTest(EmailCase):

    def test_configuration_errors(self):
        rec = T.dump_record(EXAMPLES[0])
        cases = [
            (["--from", FROM, "--to", "owner@pca.example"], "--smtp"),
            (["--from", FROM, "--to", "x", "--smtp", "smtp://127.0.0.1:1"], "--to x"),
            (["--from", FROM, "--to", "a@b.example", "--smtp", "http://127.0.0.1:1"],
             "smtp://"),
            (["--from", FROM, "--to", "a@b.example", "--smtp", "smtp://127.0.0.1:1",
              "--password-file", self.password_file], "--user"),
            (["--from", FROM, "--to", "a@b.example", "--smtp", "smtp://127.0.0.1:1",
              "--user", "u", "--password-env", "PCA_TEST_UNSET_VARIABLE"],
             "PCA_TEST_UNSET_VARIABLE"),
        ]
        cases.append((["--from", FROM, "--to", "a@b.example", "--smtp", "smtp://127.0.0.1:1",
                       "--drain"], "--drain needs a spool"))
        for argv, words in cases:
            with self.subTest(argv=argv):
                rc, out, err = self.send(*argv, stdin=rec)
                self.assertEqual(rc, 78, err)
                self.assertEqual(out, b"")
                self.assertIn(words, err)

    def test_smtp_config_errors_name_the_place(self):
        s = self.server()
        for smtp_extra, words in (
                (["tls: sometimes"], "tls must be required, optional or none"),
                (["password_file: " + json.dumps(self.password_file)], "needs a \"user\""),
                (["user: u", "password_file: " + json.dumps(self.password_file),
                  "oauth2_token_file: " + json.dumps(self.token_file)], "not both")):
            with self.subTest(smtp_extra=smtp_extra):
                cfg = self.config(s.url(), smtp_extra=smtp_extra, cacert=False)
                rc, out, err = self.send("-c", cfg, stdin=T.dump_record(EXAMPLES[0]))
                self.assertEqual(rc, 78, err)
                self.assertIn(cfg + ":", err)
                self.assertIn(words, err)
        self.assertEqual(s.snapshot(), [])

    def test_adhoc_and_config_exclude_each_other(self):
        cfg = self.config(sendmail="/bin/true")
        rc, out, err = self.send("-c", cfg, "--to", "a@b.example")
        self.assertEqual(rc, 2, err)

    def test_help_lists_options(self):
        rc, out, err = self.send("--help")
        self.assertEqual(rc, 0, err)
        for opt in ("--from", "--to", "--cc", "--bcc", "--smtp", "--tls", "--user",
                    "--password-file", "--password-env", "--sendmail", "--retry-ambiguous",
                    "--dry-run", "--drain", "--spool"):
            self.assertIn(opt.encode(), out)


if __name__ == "__main__":
    unittest.main()
