"""pca-send-sms against fake SMS providers on 127.0.0.1 (tests/cli/
fake_providers.py, built on servers.py): Twilio, Vonage, Telnyx, SNS and a
generic gateway, each reading the requests the way the real one would and
answering in its own format.

What is checked from outside: the form or JSON fields each provider got,
decoded (the text is the one pca-render -f sms prints, byte for byte, for
GSM-7, extension-character and UCS-2 texts; percent-encoding is canonical;
Vonage numbers lose their "+", UCS-2 texts say type=unicode; SNS requests
carry a SigV4 signature recomputed here); the result entries (status,
recipients, provider ids and codes, segments, encoding, credits); several
recipients; pacing; retries and Retry-After; 4xx failing at once;
ambiguous timeouts; the spool (spool, drain, list, count, requeue, resend,
no second text to a recipient who already got one); --dry-run; secrets in
no output, log or spool; configuration and usage errors.

Environment: PCA_BUILD_DIR, PCA_SOURCE_DIR (set by meson). Debian's
/usr/bin/python3. Only 127.0.0.1 is contacted.
"""
import base64
import json
import os
import re
import sys
import time
import unittest
import urllib.parse
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_providers as F  # noqa: E402
import pcatest as T  # noqa: E402
import servers as S  # noqa: E402

SEND = T.program("pca-send-sms")
RENDER = T.program("pca-render")
EXAMPLES = T.example_records()
BY_ID = {r["call_id"]: r for r in EXAMPLES}
NOW = "2026-11-28T12:00:00Z"

GSM_CALL = "call_01M84J9ECR73Z6TR5Q4CXHZQQJ"      # Dana Lee: GSM-7, 2 segments
CYRILLIC_CALL = "call_01M87HMJ6PMFC27489PCS76MDV"  # UCS-2, truncated
EMOJI_CALL = "call_01M862YQ4B8GX6N265FH8V1SR4"     # UCS-2 with emoji
OWNER = "+14155550100"
OTHER = "+14155550111"
THIRD = "+14155550122"
SENDER = "+14155550199"

# Secrets with bytes that percent-encoding and JSON escaping change, so that
# a leak in either spelling shows.
TWILIO_SECRET = "tw/t0k+en=&x%y~z"
VONAGE_SECRET = "Vg/s3c+r=t&"
TELNYX_SECRET = "KEY0188A2B8F5C1D6E7/+=x"
SNS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SNS_TOKEN = "IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJGMEQCIH/token+="
GW_SECRET = 'gw"se\\cr/et+&'
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2


def record(call_id=GSM_CALL, new_id=None, **fields):
    """A copy of an example record, with another call_id and fields."""
    rec = json.loads(json.dumps(BY_ID[call_id]))
    if new_id:
        rec["call_id"] = new_id
    rec.update(fields)
    return rec


def jsonl(records):
    return b"".join(T.dump_record(r) for r in records)


def rfc3339(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def later(seconds):
    return rfc3339(int(time.time() + seconds))


def spellings(secret):
    """Every way a secret could leak: as it is, percent-encoded, JSON-escaped."""
    return {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote(secret, safe="-._~"),
            json.dumps(secret)[1:-1]}


def form_value(body, name):
    """The raw (still percent-encoded) bytes of a form field."""
    for item in body.split(b"&"):
        k, _, v = item.partition(b"=")
        if k == name.encode():
            return v
    return None


def pct(text):
    """text percent-encoded the one way pca does: all but A-Z a-z 0-9 - . _ ~."""
    return urllib.parse.quote(text, safe="-._~").encode()


class SmsCase(T.TempDirCase):
    """Runs pca-send-sms against fakes, and checks what comes out."""

    def setUp(self):
        super().setUp()
        self.outputs = []
        self.files_to_check = []
        self.secrets = [TWILIO_SECRET, VONAGE_SECRET, TELNYX_SECRET, SNS_SECRET, SNS_TOKEN,
                        GW_SECRET]
        self.secret_files = {}
        for name, secret in (("twilio", TWILIO_SECRET), ("vonage", VONAGE_SECRET),
                             ("telnyx", TELNYX_SECRET), ("sns", SNS_SECRET),
                             ("http", GW_SECRET)):
            self.secret_files[name] = T.write_file(self.path(name + ".secret"), secret + "\n",
                                                   0o600)
        self.spool = self.path("spool.db")
        self.log = self.path("attempts.log")
        self.files_to_check += [self.spool, self.spool + "-wal", self.log]

    def tearDown(self):
        # Whatever a test ran, no secret may show anywhere it wrote.
        texts = list(self.outputs)
        for f in self.files_to_check:
            if os.path.exists(f):
                texts.append(T.read_file(f))
        basic = base64.b64encode(("%s:%s" % (ACCOUNT_SID, TWILIO_SECRET)).encode())
        for text in texts:
            for secret in self.secrets:
                for s in spellings(secret):
                    self.assertNotIn(s.encode(), text, "a secret leaked")
            self.assertNotIn(basic, text, "the basic credentials leaked")
        super().tearDown()

    # -- fakes and runs --

    def fake(self, cls, *args, **kw):
        secret = {F.Twilio: TWILIO_SECRET, F.Vonage: VONAGE_SECRET, F.Telnyx: TELNYX_SECRET,
                  F.SNS: SNS_SECRET, F.Generic: GW_SECRET}[cls]
        f = cls(secret, *args, **kw).start()
        self.addCleanup(f.close)
        self.addCleanup(lambda: self.assertEqual(f.server.errors, [], "the fake failed"))
        self.addCleanup(lambda: self.assertEqual(f.problems, [], "bad requests"))
        return f

    def sms(self, *args, stdin=b"", env=None, timeout=120):
        rc, out, err = T.run([SEND, *args], stdin=stdin, env=env or self.env, timeout=timeout)
        self.outputs += [out, err.encode()]
        return rc, out, err

    def twilio_args(self, fake, to=(OWNER,), sender=SENDER, private=True):
        argv = ["--provider", "twilio", "--account-sid", fake.account_sid, "--secret-file",
                self.secret_files["twilio"], "--base-url", fake.base_url]
        for n in to:
            argv += ["--to", n]
        argv += ["--from", sender] if sender else []
        argv += ["--allow-private", "--allow-http"] if private else []
        return argv

    def twilio(self, fake, *args, to=(OWNER,), stdin=b"", **kw):
        return self.sms(*self.twilio_args(fake, to), *args, stdin=stdin, **kw)

    def config(self, text, name="config.yaml", mode=0o600):
        path = T.write_config(self.tmp, text, name, mode)
        self.files_to_check.append(path)
        return path

    def twilio_config(self, fake, to=(OWNER,), extra="", top="", section=""):
        return self.config("%sactions:\n  - id: owner-sms\n    type: sms\n    to: [%s]\n"
                           "    from: \"%s\"\n%s    twilio:\n      account_sid: %s\n"
                           "      auth_token_file: %s\n      base_url: %s\n%s"
                           % (top, ", ".join('"%s"' % n for n in to), SENDER, extra,
                              fake.account_sid, self.secret_files["twilio"], fake.base_url,
                              section))

    def rendered(self, records, config=None, now=NOW):
        """{(call_id, action_id): what pca-render -f sms prints for it}."""
        argv = [RENDER, "-f", "sms", "--now", now] + (["-c", config] if config else [])
        rc, out, err = T.run(argv, stdin=jsonl(records), env=self.env)
        self.assertEqual(rc, 0, err)
        return {(o["call_id"], o["action_id"]): o for o in T.load_jsonl(out)}

    # -- checking --

    def check_records(self, records, out, actions=("sms",)):
        return T.check_records(self, records, out, actions)

    def entries(self, records, out, action="sms"):
        return [e[action] for e in self.check_records(records, out, (action,))]

    def check_entry(self, e, status, attempts, provider="twilio", code=None, http_status=None,
                    target=None, action="sms"):
        self.assertEqual(e["type"], "sms")
        self.assertEqual(e["action_id"], action)
        self.assertEqual(e["status"], status, e)
        self.assertEqual(e["attempts"], attempts, e)
        self.assertEqual(e["provider"], provider, e)
        if target:
            self.assertEqual(e["target"], target)
        if code is None:
            self.assertNotIn("error", e)
        else:
            self.assertEqual(e["error"]["code"], code, e)
            self.assertTrue(e["error"]["message"], e)
        if http_status is not None:
            self.assertEqual(e["http_status"], http_status, e)
        self.assertEqual("next_attempt_at" in e, status == "spooled", e)

    def check_sent(self, msg, rendered, raw_field=None):
        """The text a provider got is what pca-render printed, the counts
        agree with the provider's, and (raw_field) the raw form value is
        the canonical percent-encoding of the text."""
        self.assertEqual(msg.text, rendered["text"])
        self.assertEqual(msg.encoding, rendered["encoding"])
        self.assertEqual(msg.segments, rendered["segments"])
        if raw_field:
            self.assertEqual(form_value(msg.request.body, raw_field), pct(rendered["text"]))


def redacted(number):
    return number[:5] + "***" + number[-4:]


# ---- what is sent ----


class TextTest(SmsCase):
    def test_every_example_gets_the_rendered_text(self):
        """26 records, GSM-7 and UCS-2 in a dozen scripts: each Body is what
        pca-render prints, the entry's counts agree with the provider's."""
        f = self.fake(F.Twilio)
        rc, out, err = self.twilio(f, "--now", NOW, stdin=jsonl(EXAMPLES))
        self.assertEqual((rc, err), (0, ""))
        want = self.rendered(EXAMPLES)
        msgs = {m.request.body: m for m in f.messages}
        self.assertEqual(len(msgs), len(EXAMPLES))
        by_text = {m.text: m for m in f.messages}
        for rec, e in zip(EXAMPLES, self.entries(EXAMPLES, out)):
            r = want[(rec["call_id"], "sms")]
            m = by_text[r["text"]]
            self.check_sent(m, r, "Body")
            self.assertEqual((m.to, m.sender), (OWNER, SENDER))
            self.check_entry(e, "succeeded", 1, http_status=201, target=redacted(OWNER))
            self.assertEqual(e["provider_message_id"], m.id)
            self.assertRegex(e["provider_message_id"], "^SM[0-9a-f]{32}$")
            self.assertEqual(e["provider_status"], "queued")
            self.assertEqual(e["provider_segments"], m.segments)
            self.assertEqual((e["segments"], e["encoding"]), (r["segments"], r["encoding"]))
            self.assertEqual(e.get("truncated", False), r["truncated"])
            self.assertEqual(e["credits"], r["segments"])
            self.assertNotIn("recipients", e)
            self.assertNotIn("price", e)  # Twilio says null until it is sent
            self.assertLessEqual(parse_time(e["started_at"]), parse_time(e["finished_at"]))

    def test_gsm7_text(self):
        rec = record()
        f = self.fake(F.Twilio)
        rc, out, err = self.twilio(f, "--now", NOW, stdin=jsonl([rec]))
        self.assertEqual((rc, err), (0, ""))
        (m,) = f.messages
        r = self.rendered([rec])[(GSM_CALL, "sms")]
        self.assertEqual(r["encoding"], "GSM-7")
        self.check_sent(m, r, "Body")
        self.assertEqual(m.fields, {"To": OWNER, "From": SENDER, "Body": r["text"]})
        self.assertEqual(m.request.header("authorization"), "Basic " + base64.b64encode(
            ("%s:%s" % (ACCOUNT_SID, TWILIO_SECRET)).encode()).decode())
        # Spaces are %20, never "+"; "+" itself is %2B; the apostrophe %27.
        self.assertTrue(m.request.body.startswith(b"To=%2B14155550100&From=%2B14155550199&Body="
                                                  b"Call%20from%20Dana%20Lee%20%28%2B1%20415"),
                        m.request.body[:80])
        self.assertIn(b"Friday%27s%20cleaning", m.request.body)
        (e,) = self.entries([rec], out)
        self.assertEqual((e["segments"], e["encoding"], e["provider_segments"]), (2, "GSM-7", 2))

    def test_gsm7_extension_characters(self):
        # Each of { } [ ] ~ ^ | \ and the euro costs two septets but keeps
        # GSM-7: 155 characters with 9 of them are 164 septets, 2 parts.
        prefix = "Call from Dana Lee (+1 415 555 0123): "
        core = "Quote {Q-17}: 20\u20ac [net], ~2 days ^ up | A\\B. "
        summary = core + "x" * (155 - len(prefix) - len(core))
        rec = record(summary=summary)
        f = self.fake(F.Twilio)
        rc, out, err = self.twilio(f, "--now", NOW, stdin=jsonl([rec]))
        self.assertEqual((rc, err), (0, ""))
        (m,) = f.messages
        r = self.rendered([rec])[(GSM_CALL, "sms")]
        self.assertEqual((r["text"], r["encoding"]), (prefix + summary, "GSM-7"))
        self.assertEqual((r["characters"], r["segments"]), (164, 2))
        self.check_sent(m, r, "Body")
        body = m.request.body
        for raw in (b"%7BQ-17%7D", b"20%E2%82%AC", b"%5Bnet%5D", b"~2", b"%5E", b"%7C",
                    b"A%5CB"):
            self.assertIn(raw, body)
        (e,) = self.entries([rec], out)
        self.assertEqual((e["encoding"], e["segments"], e["provider_segments"]),
                         ("GSM-7", 2, 2))

    def test_ucs2_cyrillic_and_emoji(self):
        recs = [record(CYRILLIC_CALL), record(EMOJI_CALL)]
        f = self.fake(F.Twilio)
        rc, out, err = self.twilio(f, "--now", NOW, stdin=jsonl(recs))
        self.assertEqual((rc, err), (0, ""))
        want = self.rendered(recs)
        by_text = {m.text: m for m in f.messages}
        for rec, e in zip(recs, self.entries(recs, out)):
            r = want[(rec["call_id"], "sms")]
            self.assertEqual(r["encoding"], "UCS-2")
            self.check_sent(by_text[r["text"]], r, "Body")
            self.assertEqual((e["encoding"], e["segments"]), ("UCS-2", r["segments"]))
            self.assertTrue(e["truncated"])
        emoji = by_text[want[(EMOJI_CALL, "sms")]["text"]].request.body
        self.assertIn(b"%F0%9F%9A%B0%F0%9F%92%A7", emoji)  # U+1F6B0 U+1F4A7, UTF-8 bytes
        cyr = by_text[want[(CYRILLIC_CALL, "sms")]["text"]].request.body
        self.assertIn(b"%D0%93%D0%BE%D1%81%D1%82%D1%8C%D1%8F", cyr)  # "Гостья"
        self.assertIn(b"%E2%80%A6", cyr)  # the ellipsis of the cut

    def test_max_segments_fits_the_text(self):
        rec = record(summary="Long " * 120)
        cfg = self.config("actions:\n  - id: sms\n    type: sms\n    to: \"%s\"\n"
                          "    from: \"%s\"\n    max_segments: 1\n" % (OWNER, SENDER),
                          name="render.yaml")
        f = self.fake(F.Twilio)
        rc, out, err = self.twilio(f, "--max-segments", "1", "--now", NOW, stdin=jsonl([rec]))
        self.assertEqual((rc, err), (0, ""))
        r = self.rendered([rec], config=cfg)[(GSM_CALL, "sms")]
        (m,) = f.messages
        self.check_sent(m, r, "Body")
        self.assertEqual(m.segments, 1)
        (e,) = self.entries([rec], out)
        self.assertEqual((e["segments"], e["truncated"], e["credits"]), (1, True, 1))
        self.assertLessEqual(len(m.text), 160)

    def test_log_lines(self):
        recs = [record(), record(new_id="call_log_2")]
        f = self.fake(F.Twilio)
        f.then("invalid_number", "invalid_number", to=OTHER)
        rc, out, err = self.twilio(f, "--log", self.log, "--log-bodies", "--now", NOW,
                                   to=(OWNER, OTHER), stdin=jsonl(recs))
        self.assertEqual(rc, 1, err)
        lines = T.load_jsonl(T.read_file(self.log))
        self.assertEqual(len(lines), 4)
        keys = sorted(x["key"] for x in lines)
        self.assertEqual(keys, sorted("pca:sms:%s:%s" % (c, n) for c in (GSM_CALL, "call_log_2")
                                      for n in (OWNER, OTHER)))
        text = self.rendered(recs[:1])[(GSM_CALL, "sms")]["text"]
        for x in lines:
            self.assertEqual((x["channel"], x["action_id"], x["attempt"]), ("sms", "sms", 1))
            self.assertIn(x["target"], (redacted(OWNER), redacted(OTHER)))
            self.assertEqual(x["key"].endswith(OTHER), x["target"] == redacted(OTHER))
            if x["target"] == redacted(OTHER):
                self.assertEqual((x["status"], x["error"]), (400, "21211"))
            else:
                self.assertEqual(x["status"], 201)
                self.assertNotIn("error", x)
        # Not even --log-bodies puts the text in the log.
        self.assertNotIn(text[:40].encode(), T.read_file(self.log))


# ---- several recipients, several actions ----


class RecipientsTest(SmsCase):
    def test_one_request_per_recipient_and_the_entry(self):
        rec = record()
        f = self.fake(F.Twilio)
        f.then("invalid_number", to=THIRD)
        cfg = self.twilio_config(f, to=(OWNER, OTHER, THIRD), top="credits:\n  sms_segment: 0.5\n")
        rc, out, err = self.sms("-c", cfg, "--allow-private", "--allow-http", "--now", NOW,
                                stdin=jsonl([rec]))
        self.assertEqual(rc, 1, err)
        r = self.rendered([rec], config=cfg)[(GSM_CALL, "owner-sms")]
        self.assertEqual(sorted(f.to_numbers()), sorted([OWNER, OTHER, THIRD]))
        for m in f.messages:
            self.check_sent(m, r, "Body")
        (e,) = self.entries([rec], out, "owner-sms")
        self.check_entry(e, "failed", 1, action="owner-sms")
        self.assertEqual(e["target"], redacted(OWNER) + " and others")
        self.assertEqual((e["segments"], e["encoding"]), (2, "GSM-7"))
        # 2 segments x 0.5 x the 2 recipients who got it.
        self.assertEqual(e["credits"], 2)
        ids = {m.to: m.id for m in f.messages}
        rs = {x["target"]: x for x in e["recipients"]}
        self.assertEqual([x["target"] for x in e["recipients"]],
                         [redacted(n) for n in (OWNER, OTHER, THIRD)])
        for n in (OWNER, OTHER):
            x = rs[redacted(n)]
            self.assertEqual((x["status"], x["attempts"], x["http_status"]), ("succeeded", 1, 201))
            self.assertEqual(x["provider_message_id"], ids[n])
            self.assertEqual((x["provider_status"], x["provider_segments"]), ("queued", 2))
            self.assertNotIn("error", x)
        x = rs[redacted(THIRD)]
        self.assertEqual((x["status"], x["attempts"], x["http_status"]), ("failed", 1, 400))
        self.assertEqual(x["error"]["code"], "21211")
        self.assertEqual(x["error"]["message"], "The 'To' number %s is not a valid phone number."
                         % THIRD)
        self.assertEqual(x["more_info"], "https://www.twilio.com/docs/errors/21211")
        self.assertNotIn("provider_message_id", x)

    def test_a_number_listed_twice(self):
        # It would be texted twice, or share one idempotency key: the
        # configuration is refused, naming where.
        rec = record()
        f = self.fake(F.Twilio)
        cfg = self.twilio_config(f, to=(OWNER, OWNER))
        rc, out, err = self.sms("-c", cfg, "--allow-private", "--allow-http", "--spool",
                                self.spool, stdin=jsonl([rec]))
        self.assertEqual(rc, 78, err)
        self.assertRegex(err, re.escape(cfg) + r":\d+:\d+: \+\d+ is listed twice")
        self.assertEqual(f.count(), 0)

    def test_two_actions_and_when(self):
        f = self.fake(F.Twilio)
        missed = T.write_file(self.path("missed.mustache"), "Missed: {{caller.number}}")
        cfg = self.config(
            "actions:\n"
            "  - id: owner\n    type: sms\n    to: \"%s\"\n    from: \"%s\"\n"
            "    twilio: {account_sid: %s, auth_token_file: %s, base_url: \"%s\"}\n"
            "  - id: missed\n    type: sms\n    to: \"%s\"\n    from: \"%s\"\n"
            "    when: {status: [no_answer, busy]}\n"
            "    templates: {sms: %s}\n"
            "    twilio: {account_sid: %s, auth_token_file: %s, base_url: \"%s\"}\n"
            % (OWNER, SENDER, f.account_sid, self.secret_files["twilio"], f.base_url,
               OTHER, SENDER, missed, f.account_sid, self.secret_files["twilio"], f.base_url))
        recs = [BY_ID[GSM_CALL], EXAMPLES[14]]  # completed, busy
        self.assertEqual(recs[1]["status"], "busy")
        rc, out, err = self.sms("-c", cfg, "--allow-private", "--allow-http", "--now", NOW,
                                stdin=jsonl(recs))
        self.assertEqual(rc, 0, err)
        first, second = self.check_records(recs, out, [("owner",), ("owner", "missed")])
        self.assertEqual(first["owner"]["status"], "succeeded")
        self.assertEqual(second["missed"]["status"], "succeeded")
        self.assertEqual(second["missed"]["target"], redacted(OTHER))
        missed = [m for m in f.messages if m.to == OTHER]
        self.assertEqual([m.text for m in missed], ["Missed: %s" % recs[1]["caller"]["number"]])
        self.assertEqual(len(f.messages), 3)

    def test_records_pass_through_and_bad_lines_are_rejected(self):
        rec = record(metadata={"crm": {"id": 7}}, x_unknown=[1, "two"])
        earlier = {"action_id": "email", "type": "email", "status": "succeeded", "attempts": 1}
        rec2 = record(EMOJI_CALL, post_call_actions=[earlier])
        f = self.fake(F.Twilio)
        rejects = self.path("rejects.jsonl")
        data = jsonl([rec]) + b"not json\n" + jsonl([rec2])
        rc, out, err = self.twilio(f, "--rejects", rejects, stdin=data)
        self.assertEqual(rc, 65, err)
        self.assertEqual(T.read_file(rejects), b"not json\n")
        self.check_records([rec, rec2], out)
        self.assertEqual(len(f.messages), 2)


# ---- pacing ----


class PacingTest(SmsCase):
    def paced_config(self, f, rate, actions=(("a", SENDER),)):
        text = "actions:\n"
        for aid, sender in actions:
            text += ("  - id: %s\n    type: sms\n    to: \"%s\"\n    from: \"%s\"\n"
                     "    rate: %s\n    twilio: {account_sid: %s, auth_token_file: %s, "
                     "base_url: \"%s\"}\n" % (aid, OWNER, sender, rate, f.account_sid,
                                              self.secret_files["twilio"], f.base_url))
        return self.config(text)

    def test_rate_2_takes_two_seconds_for_five(self):
        recs = [record(new_id="call_pace_%d" % i) for i in range(5)]
        f = self.fake(F.Twilio)
        cfg = self.paced_config(f, 2)
        t0 = time.monotonic()
        rc, out, err = self.sms("-c", cfg, "--allow-private", "--allow-http", "--now", NOW,
                                stdin=jsonl(recs))
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, err)
        at = sorted(r.at for r in f.server.snapshot())
        self.assertEqual(len(at), 5)
        gaps = [b - a for a, b in zip(at, at[1:])]
        self.assertGreaterEqual(min(gaps), 0.4, gaps)
        self.assertGreaterEqual(at[-1] - at[0], 1.9)
        self.assertLess(at[-1] - at[0], 3.5)
        self.assertGreaterEqual(took, 1.9)
        for e in self.entries(recs, out, "a"):
            self.assertEqual(e["status"], "succeeded")
        # --no-pacing ignores the rate.
        f.reset_log()
        rc, out, err = self.sms("-c", cfg, "--allow-private", "--allow-http", "--no-pacing",
                                "--spool", self.spool, stdin=jsonl(recs))
        self.assertEqual(rc, 0, err)
        at = sorted(r.at for r in f.server.snapshot())
        self.assertEqual(len(at), 5)
        self.assertLess(at[-1] - at[0], 1.0)

    def test_the_rate_is_per_sender(self):
        recs = [record(new_id="call_sender_%d" % i) for i in range(3)]
        f = self.fake(F.Twilio)
        # Two actions from one sender share its rate: 6 texts at 4 a second.
        cfg = self.paced_config(f, 4, (("a", SENDER), ("b", SENDER)))
        rc, out, err = self.sms("-c", cfg, "--allow-private", "--allow-http", stdin=jsonl(recs))
        self.assertEqual(rc, 0, err)
        self.check_records(recs, out, ("a", "b"))
        at = sorted(r.at for r in f.server.snapshot())
        self.assertEqual(len(at), 6)
        self.assertGreaterEqual(at[-1] - at[0], 1.2)
        self.assertGreaterEqual(min(b - a for a, b in zip(at, at[1:])), 0.2)
        # From two senders: each has its own, 3 texts each. At 2 a second:
        # 1 s for each sender's three, 2.5 s if they shared one rate.
        f.reset_log()
        cfg = self.paced_config(f, 2, (("a", SENDER), ("b", "BrightSmile")))
        rc, out, err = self.sms("-c", cfg, "--allow-private", "--allow-http", "--new-id",
                                stdin=jsonl(recs))
        self.assertEqual(rc, 0, err)
        reqs = f.server.snapshot()
        self.assertEqual(len(reqs), 6)
        for sender in (SENDER, "BrightSmile"):
            at = sorted(m.request.at for m in f.messages if m.sender == sender)
            self.assertEqual(len(at), 3)
            self.assertGreaterEqual(at[-1] - at[0], 0.95)
        span = max(r.at for r in reqs) - min(r.at for r in reqs)
        self.assertLess(span, 2.0, "two senders were paced as one")


# ---- retries, failures, timeouts ----


class FailureTest(SmsCase):
    def one(self, f, *args, rec=None, adhoc=None, spool=False):
        """One record through an ad hoc action: (rc, entry, messages, stderr)."""
        rec = rec or record()
        extra = ["--spool", self.spool] if spool else []
        if adhoc is None:
            adhoc = self.twilio_args(f)
        rc, out, err = self.sms(*adhoc, *args, *extra, stdin=jsonl([rec]))
        (e,) = self.entries([rec], out)
        return rc, e, list(f.messages), err

    def test_429_retry_after_then_201(self):
        f = self.fake(F.Twilio)
        f.then("throttle:2")
        rc, e, msgs, err = self.one(f, "--retries", "1")
        self.assertEqual(rc, 0, err)
        self.check_entry(e, "succeeded", 2, http_status=201)
        self.assertEqual([m.answer for m in msgs], ["throttle", "ok"])
        self.assertEqual(msgs[0].request.body, msgs[1].request.body)
        gap = msgs[1].request.at - msgs[0].request.at
        self.assertGreaterEqual(gap, 1.95, "Retry-After: 2 was not honoured")
        self.assertLess(gap, 6)
        self.assertEqual(e["provider_message_id"], msgs[1].id)

    def test_500_then_201(self):
        f = self.fake(F.Twilio)
        f.then("server_error")
        rc, e, msgs, err = self.one(f, "--log", self.log)
        self.assertEqual(rc, 0, err)
        self.check_entry(e, "succeeded", 2, http_status=201)
        self.assertEqual(len(msgs), 2)
        self.assertGreaterEqual(msgs[1].request.at - msgs[0].request.at, 0.75)
        lines = T.load_jsonl(T.read_file(self.log))
        self.assertEqual([(x["status"], x.get("error")) for x in lines],
                         [(500, "20500"), (201, None)])

    def test_400_21211_fails_at_once(self):
        f = self.fake(F.Twilio)
        f.default = "invalid_number"
        rc, e, msgs, err = self.one(f, "--retries", "2", spool=True)
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(msgs), 1)
        self.check_entry(e, "failed", 1, code="21211", http_status=400)
        self.assertEqual(e["error"]["message"], "The 'To' number %s is not a valid phone number."
                         % OWNER)
        self.assertEqual(e["more_info"], "https://www.twilio.com/docs/errors/21211")
        self.assertEqual(e["credits"], 0)
        self.assertIn("21211", e["response"])
        rc, out, err = self.sms("--spool", self.spool, "--count", "--status", "dead")
        self.assertEqual((rc, out), (0, b"1\n"), err)

    def test_twilio_20429_and_500_run_out_without_a_spool(self):
        f = self.fake(F.Twilio)
        f.default = "throttle"
        rc, e, msgs, err = self.one(f, "--retries", "1")
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(msgs), 2)
        self.check_entry(e, "failed", 2, code="20429", http_status=429)

    def test_long_retry_after_goes_to_the_spool(self):
        f = self.fake(F.Twilio)
        f.default = "throttle:3600"
        rc, e, msgs, err = self.one(f, "--retries", "2", spool=True)
        self.assertEqual(rc, 75, err)
        self.assertEqual(len(msgs), 1, "waited in process for an hour-long Retry-After")
        self.check_entry(e, "spooled", 1, code="20429", http_status=429)
        wait = parse_time(e["next_attempt_at"]) - parse_time(e["finished_at"])
        self.assertAlmostEqual(wait, 600, delta=2)  # at most twice the 5-minute step

    def test_twilio_created_but_failed(self):
        """A 201 whose message already failed (error_code set) is a failure,
        not retried; its sid is kept."""
        f = self.fake(F.Twilio)

        def failed(msg):
            r = f.ok(msg)
            body = json.loads(r.body)
            body.update(status="failed", error_code=30007, error_message="Message filtered")
            r.body = json.dumps(body).encode()
            return r
        f.then(failed)
        rc, e, msgs, err = self.one(f, "--retries", "2")
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(msgs), 1)
        self.check_entry(e, "failed", 1, code="30007", http_status=201)
        self.assertEqual(e["error"]["message"], "Message filtered")
        self.assertEqual(e["provider_message_id"], msgs[0].id)
        self.assertEqual((e["provider_status"], e["credits"]), ("failed", 0))

    def test_slow_answer_is_an_ambiguous_timeout(self):
        f = self.fake(F.Twilio)
        f.then("slow:2.5")
        rc, e, msgs, err = self.one(f, "--timeout", "1", "--retries", "2", spool=True)
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(msgs), 1, "sent again after a timeout: the owner may get it twice")
        self.check_entry(e, "failed", 1, code="ambiguous_timeout")
        self.assertIn("--retry-ambiguous", e["error"]["message"])
        self.assertNotIn("http_status", e)
        # The action's own timeout: likewise.
        f.reset_log()
        f.then("slow:2.5")
        rec = record(new_id="call_action_timeout")
        cfg = self.twilio_config(f, extra="    timeout: 1s\n")
        rc, out, err = self.sms("-c", cfg, "--allow-private", "--allow-http", stdin=jsonl([rec]))
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(f.messages), 1)
        self.check_entry(self.entries([rec], out, "owner-sms")[0], "failed", 1,
                         code="ambiguous_timeout", action="owner-sms")

    def test_retry_ambiguous_sends_again(self):
        f = self.fake(F.Twilio)
        f.then("slow:2.5")
        rc, e, msgs, err = self.one(f, "--timeout", "1", "--retries", "1", "--retry-ambiguous")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(msgs), 2)
        self.assertEqual(msgs[0].request.body, msgs[1].request.body)
        self.check_entry(e, "succeeded", 2, http_status=201)
        self.assertEqual(e["provider_message_id"], msgs[1].id)

    def test_reset_after_the_request_is_ambiguous(self):
        f = self.fake(F.Twilio)
        f.then("reset")
        rc, e, msgs, err = self.one(f, "--retries", "2")
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(msgs), 1)
        self.check_entry(e, "failed", 1, code="ambiguous_timeout")
        f.reset_log()
        f.then("reset")
        rc, e, msgs, err = self.one(f, "--retries", "1", "--retry-ambiguous")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(msgs), 2)

    def test_refused_connection_is_retried(self):
        # Nothing was sent: no doubt, so retried, then spooled.
        with S.RefusedPort() as p:
            adhoc = ["--provider", "twilio", "--account-sid", ACCOUNT_SID, "--secret-file",
                     self.secret_files["twilio"], "--base-url", p.url(""), "--to", OWNER,
                     "--from", SENDER, "--allow-private", "--allow-http"]
            rec = record()
            rc, out, err = self.sms(*adhoc, "--retries", "1", stdin=jsonl([rec]))
            self.assertEqual(rc, 1, err)
            self.check_entry(self.entries([rec], out)[0], "failed", 2, code="connect")
            rc, out, err = self.sms(*adhoc, "--retries", "0", "--spool", self.spool,
                                    stdin=jsonl([rec]))
            self.assertEqual(rc, 75, err)
            self.check_entry(self.entries([rec], out)[0], "spooled", 1, code="connect")

    def test_provider_throttle_codes_are_retried(self):
        """Vonage's status 1 (in a 200) and SNS's 400 Throttling."""
        v = self.fake(F.Vonage)
        v.then("throttle")
        adhoc = ["--provider", "vonage", "--api-key", v.api_key, "--secret-file",
                 self.secret_files["vonage"], "--base-url", v.base_url, "--to", OWNER,
                 "--from", "BrightSmile", "--allow-private", "--allow-http"]
        rc, e, msgs, err = self.one(v, "--retries", "1", adhoc=adhoc)
        self.assertEqual(rc, 0, err)
        self.assertEqual([m.answer for m in msgs], ["throttle", "ok"])
        self.check_entry(e, "succeeded", 2, provider="vonage", http_status=200)

        s = self.fake(F.SNS, session_token=SNS_TOKEN)
        s.strict_signed_headers = False  # see ProviderTest.test_sns
        s.then("throttle")
        cfg = self.sns_config(s)
        rec = record()
        rc, out, err = self.sms("-c", cfg, "--retries", "1", stdin=jsonl([rec]))
        self.assertEqual(rc, 0, err)
        (e,) = self.entries([rec], out)
        self.assertEqual([m.answer for m in s.messages], ["throttle", "ok"])
        self.check_entry(e, "succeeded", 2, provider="sns", http_status=200)

    def test_vonage_part_refused_after_one_went_is_final(self):
        """A 2-part text whose second part is throttled: sending again would
        repeat the first part, so it is not retried."""
        v = self.fake(F.Vonage)

        def partial(msg):
            r = json.loads(v.ok(msg).body)
            r["messages"][1] = {"to": msg.to[1:], "status": "1",
                                "error-text": "Throughput Rate Exceeded - please wait [ 1 ] "
                                              "and retry"}
            msg.id = r["messages"][0]["message-id"]
            return S.Response(200, {"Content-Type": "application/json"}, json.dumps(r))
        v.then(partial)
        adhoc = ["--provider", "vonage", "--api-key", v.api_key, "--secret-file",
                 self.secret_files["vonage"], "--base-url", v.base_url, "--to", OWNER,
                 "--from", "BrightSmile", "--allow-private", "--allow-http"]
        rc, e, msgs, err = self.one(v, "--retries", "2", adhoc=adhoc)
        self.assertEqual(msgs[0].segments, 2)
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(msgs), 1)
        self.check_entry(e, "failed", 1, provider="vonage", code="1", http_status=200)
        self.assertEqual(e["provider_message_id"], msgs[0].id)

    def test_vonage_invalid_number_is_final(self):
        v = self.fake(F.Vonage)
        v.default = "invalid_number"
        adhoc = ["--provider", "vonage", "--api-key", v.api_key, "--secret-file",
                 self.secret_files["vonage"], "--base-url", v.base_url, "--to", OWNER,
                 "--from", "BrightSmile", "--allow-private", "--allow-http"]
        rc, e, msgs, err = self.one(v, "--retries", "2", adhoc=adhoc)
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(msgs), 1)
        self.check_entry(e, "failed", 1, provider="vonage", code="3", http_status=200)
        self.assertEqual(e["error"]["message"], "Invalid to number")

    def sns_config(self, s, sender=SENDER, to=(OWNER,)):
        return self.config(
            "allow_networks: [127.0.0.1/32]\nallow_http: true\n"
            "actions:\n  - id: sms\n    type: sms\n    to: [%s]\n    from: \"%s\"\n"
            "    sns:\n      region: %s\n      access_key_id: %s\n"
            "      secret_access_key_file: %s\n      session_token_env: AWS_SESSION_TOKEN\n"
            "      base_url: %s\n" % (", ".join('"%s"' % n for n in to), sender, s.region,
                                       s.access_key_id, self.secret_files["sns"], s.base_url))

    def setUp(self):
        super().setUp()
        self.env["AWS_SESSION_TOKEN"] = SNS_TOKEN


# ---- the spool ----


class SpoolTest(SmsCase):
    def test_down_then_drained(self):
        recs = [record(), record(EMOJI_CALL)]
        f = self.fake(F.Twilio)
        f.default = "unavailable"
        args = self.twilio_args(f) + ["--spool", self.spool]
        rc, out, err = self.sms(*args, "--retries", "0", "--now", NOW, stdin=jsonl(recs))
        self.assertEqual(rc, 75, err)
        self.assertEqual(len(f.messages), 2)
        for e in self.entries(recs, out):
            self.check_entry(e, "spooled", 1, code="http_503", http_status=503)
            wait = parse_time(e["next_attempt_at"]) - parse_time(e["finished_at"])
            self.assertGreaterEqual(wait, 239)
            self.assertLessEqual(wait, 361)
        rc, out, err = self.sms("--spool", self.spool, "--count", "--status", "pending")
        self.assertEqual((rc, out), (0, b"2\n"), err)
        # The spool holds the records (so tearDown's look for secrets in it
        # means something), but no secret.
        spooled = b"".join(T.read_file(p) for p in (self.spool, self.spool + "-wal")
                           if os.path.exists(p))
        self.assertIn(GSM_CALL.encode(), spooled)
        rc, out, err = self.sms("--spool", self.spool, "--list")
        self.assertEqual(rc, 0, err)
        for e in self.entries(recs, out):
            self.check_entry(e, "spooled", 1, code="http_503")

        # Not due yet: a drain sends nothing.
        rc, out, err = self.sms(*args, "--drain", "--now", NOW)
        self.assertEqual((rc, out), (0, b""), err)
        self.assertEqual(len(f.messages), 2)

        # The provider is back; an hour later the drain sends both.
        f.default = "ok"
        f.reset_log()
        rc, out, err = self.sms(*args, "--drain", "--now", later(3600))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(f.messages), 2)
        want = self.rendered(recs)
        drained = {r["call_id"]: r for r in T.load_jsonl(out)}
        self.assertEqual(set(drained), {r["call_id"] for r in recs})
        for rec in recs:
            (e,) = [x for x in drained[rec["call_id"]]["post_call_actions"]
                    if x["action_id"] == "sms"]
            self.check_entry(e, "succeeded", 2, http_status=201)
            m = [m for m in f.messages if m.id == e["provider_message_id"]]
            self.assertEqual(len(m), 1)
            self.assertEqual(m[0].text, want[(rec["call_id"], "sms")]["text"])
        rc, out, err = self.sms("--spool", self.spool, "--count", "--status", "done")
        self.assertEqual((rc, out), (0, b"2\n"), err)

        # Sending the same records again texts nobody; --resend does.
        f.reset_log()
        rc, out, err = self.sms(*args, stdin=jsonl(recs))
        self.assertEqual(rc, 0, err)
        self.assertEqual(f.messages, [])
        for e in self.entries(recs, out):
            self.check_entry(e, "skipped", 2, code="already_delivered")
        rc, out, err = self.sms(*args, "--resend", stdin=jsonl(recs[:1]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(f.messages), 1)

    def test_a_recipient_who_got_it_is_not_texted_again(self):
        rec = record()
        f = self.fake(F.Twilio)
        f.then("unavailable", to=OTHER)
        args = self.twilio_args(f, to=(OWNER, OTHER)) + ["--spool", self.spool]
        rc, out, err = self.sms(*args, "--retries", "0", stdin=jsonl([rec]))
        self.assertEqual(rc, 75, err)
        (e,) = self.entries([rec], out)
        self.assertEqual(e["status"], "spooled")
        self.assertEqual([x["status"] for x in e["recipients"]], ["succeeded", "spooled"])
        self.assertEqual(e["credits"], 2)
        self.assertEqual(sorted(f.to_numbers()), [OWNER, OTHER])
        for state, n in (("done", 1), ("pending", 1)):
            rc, out, err = self.sms("--spool", self.spool, "--count", "--status", state)
            self.assertEqual((rc, out), (0, b"%d\n" % n), err)

        f.reset_log()
        rc, out, err = self.sms(*args, "--drain", "--now", later(3600))
        self.assertEqual(rc, 0, err)
        self.assertEqual(f.to_numbers(), [OTHER], "the drain texted the owner again")
        (done,) = T.load_jsonl(out)
        (e,) = [x for x in done["post_call_actions"] if x["action_id"] == "sms"]
        self.assertEqual(e["status"], "succeeded")
        rs = {x["target"]: x for x in e["recipients"]}
        self.assertEqual(rs[redacted(OWNER)]["attempts"], 1)
        self.assertEqual((rs[redacted(OTHER)]["status"], rs[redacted(OTHER)]["attempts"]),
                         ("succeeded", 2))
        self.assertEqual(rs[redacted(OTHER)]["provider_message_id"], f.messages[0].id)

        # The same record again: nobody is texted.
        f.reset_log()
        rc, out, err = self.sms(*args, stdin=jsonl([rec]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(f.messages, [])

    def test_drained_entry_counts_every_recipient(self):
        rec = record()
        f = self.fake(F.Twilio)
        f.then("unavailable", to=OTHER)
        args = self.twilio_args(f, to=(OWNER, OTHER)) + ["--spool", self.spool]
        rc, out, err = self.sms(*args, "--retries", "0", stdin=jsonl([rec]))
        self.assertEqual(rc, 75, err)
        rc, out, err = self.sms(*args, "--drain", "--now", later(3600))
        self.assertEqual(rc, 0, err)
        (e,) = [x for x in T.load_jsonl(out)[0]["post_call_actions"] if x["action_id"] == "sms"]
        self.assertEqual([x["status"] for x in e["recipients"]], ["succeeded", "succeeded"])
        # 2 segments x 2 recipients who got it; the entry's attempts are its
        # recipients' most.
        self.assertEqual((e["credits"], e["attempts"]), (4, 2))

    def test_every_recipient_spooled_then_drained(self):
        rec = record()
        f = self.fake(F.Twilio)
        f.default = "unavailable"
        args = self.twilio_args(f, to=(OWNER, OTHER)) + ["--spool", self.spool]
        rc, out, err = self.sms(*args, "--retries", "0", stdin=jsonl([rec]))
        self.assertEqual(rc, 75, err)
        f.default = "ok"
        f.reset_log()
        rc, out, err = self.sms(*args, "--drain", "--now", later(3600))
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(f.to_numbers()), [OWNER, OTHER])
        entries = [x for r in T.load_jsonl(out) for x in r["post_call_actions"]
                   if x["action_id"] == "sms"]
        self.assertIn(rec["call_id"], [r["call_id"] for r in T.load_jsonl(out)])
        final = [e for e in entries if e["status"] == "succeeded" and
                 [x["status"] for x in e["recipients"]] == ["succeeded", "succeeded"]]
        self.assertTrue(final, [(e["status"], [x["status"] for x in e["recipients"]])
                                for e in entries])
        self.assertEqual(final[-1]["credits"], 4)

    def test_dead_requeued_and_drained(self):
        rec = record()
        f = self.fake(F.Twilio)
        f.then("invalid_number")
        args = self.twilio_args(f) + ["--spool", self.spool]
        rc, out, err = self.sms(*args, stdin=jsonl([rec]))
        self.assertEqual(rc, 1, err)
        rc, out, err = self.sms("--spool", self.spool, "--requeue", "--status", "dead")
        self.assertEqual(rc, 0, err)
        self.assertIn("1 item due now", err)
        rc, out, err = self.sms(*args, "--drain")
        self.assertEqual(rc, 0, err)
        (e,) = self.entries([rec], out)
        self.check_entry(e, "succeeded", 2, http_status=201)
        self.assertEqual(len(f.sent()), 1)


# ---- each provider end to end ----


class ProviderTest(SmsCase):
    def setUp(self):
        super().setUp()
        self.env["AWS_SESSION_TOKEN"] = SNS_TOKEN
        self.recs = [record(), record(CYRILLIC_CALL)]

    def run_config(self, cfg, action="sms", records=None, *args):
        recs = records or self.recs
        rc, out, err = self.sms("-c", cfg, "--now", NOW, *args, stdin=jsonl(recs))
        self.assertEqual((rc, err), (0, ""))
        return self.entries(recs, out, action), self.rendered(recs, config=cfg)

    def test_twilio_api_key_and_messaging_service(self):
        f = self.fake(F.Twilio, api_key="SK" + "f" * 32)
        cfg = self.config(
            "allow_networks: [127.0.0.1/32]\nallow_http: true\n"
            "actions:\n  - id: sms\n    type: sms\n    to: \"%s\"\n"
            "    status_callback: https://hooks.example/sms-status?a=1&b=2\n"
            "    twilio:\n      account_sid: %s\n      api_key: %s\n"
            "      auth_token_env: TW_TOKEN\n      messaging_service_sid: MG%s\n"
            "      base_url: %s/\n" % (OWNER, f.account_sid, f.api_key, "1" * 32, f.base_url))
        self.env["TW_TOKEN"] = TWILIO_SECRET
        entries, want = self.run_config(cfg)
        for rec, e in zip(self.recs, entries):
            m = [m for m in f.messages if m.id == e["provider_message_id"]][0]
            self.assertEqual(m.fields, {"To": OWNER, "MessagingServiceSid": "MG" + "1" * 32,
                                        "Body": want[(rec["call_id"], "sms")]["text"],
                                        "StatusCallback": "https://hooks.example/sms-status?"
                                                          "a=1&b=2"})
            self.check_entry(e, "succeeded", 1, http_status=201)
            self.assertEqual(e["provider_status"], "accepted")

    def test_vonage(self):
        f = self.fake(F.Vonage)
        cfg = self.config(
            "allow_networks: [127.0.0.0/8]\nallow_http: true\n"
            "actions:\n  - id: sms\n    type: sms\n    to: \"%s\"\n    from: BrightSmile\n"
            "    status_callback: https://hooks.example/dlr\n"
            "    vonage:\n      api_key: %s\n      api_secret_file: %s\n      base_url: %s\n"
            % (OWNER, f.api_key, self.secret_files["vonage"], f.base_url))
        entries, want = self.run_config(cfg)
        for rec, e in zip(self.recs, entries):
            r = want[(rec["call_id"], "sms")]
            m = [m for m in f.messages if m.text == r["text"]][0]
            self.check_sent(m, r, "text")
            fields = {"api_key": f.api_key, "api_secret": VONAGE_SECRET, "from": "BrightSmile",
                      "to": OWNER[1:], "text": r["text"], "callback": "https://hooks.example/dlr"}
            if r["encoding"] == "UCS-2":
                fields["type"] = "unicode"
            self.assertEqual(m.fields, fields)
            self.check_entry(e, "succeeded", 1, provider="vonage", http_status=200)
            self.assertEqual(e["provider_message_id"], m.id)
            self.assertRegex(m.id, "^[0-9A-F]{16}$")
            self.assertEqual((e["provider_status"], e["provider_segments"]), ("0", m.segments))
            self.assertEqual(float(e["price"]), 0.0333 * m.segments)

    def test_telnyx(self):
        f = self.fake(F.Telnyx)
        profile = "4001767e-ce0f-4cae-9d5f-0d5e636e7809"
        cfg = self.config(
            "allow_networks: [127.0.0.1/32]\nallow_http: true\n"
            "actions:\n  - id: sms\n    type: sms\n    to: \"%s\"\n    from: \"%s\"\n"
            "    status_callback: https://hooks.example/telnyx\n"
            "    telnyx:\n      api_key_file: %s\n      messaging_profile_id: %s\n"
            "      base_url: %s\n" % (OWNER, SENDER, self.secret_files["telnyx"], profile,
                                     f.base_url))
        entries, want = self.run_config(cfg)
        for rec, e in zip(self.recs, entries):
            r = want[(rec["call_id"], "sms")]
            m = [m for m in f.messages if m.text == r["text"]][0]
            self.check_sent(m, r)
            self.assertEqual(m.fields, {"from": SENDER, "to": OWNER, "text": r["text"],
                                        "messaging_profile_id": profile,
                                        "webhook_url": "https://hooks.example/telnyx"})
            self.assertEqual(m.request.header("authorization"), "Bearer " + TELNYX_SECRET)
            self.check_entry(e, "succeeded", 1, provider="telnyx", http_status=200)
            self.assertEqual(e["provider_message_id"], m.id)
            self.assertEqual((e["provider_status"], e["provider_segments"]),
                             ("queued", m.segments))
            self.assertEqual(e["price"], "0.0051 USD")

    def test_telnyx_adhoc_error(self):
        f = self.fake(F.Telnyx)
        f.default = "invalid_number"
        rec = record()
        rc, out, err = self.sms("--provider", "telnyx", "--secret-file",
                                self.secret_files["telnyx"], "--base-url", f.base_url,
                                "--to", OWNER, "--from", SENDER, "--allow-private",
                                "--allow-http", stdin=jsonl([rec]))
        self.assertEqual(rc, 1, err)
        (e,) = self.entries([rec], out)
        self.check_entry(e, "failed", 1, provider="telnyx", code="40310", http_status=400)
        self.assertEqual(e["error"]["message"], "Invalid 'to' address: The 'to' address should "
                         "be in E.164 format.")

    def sns_config(self, s, sender):
        return self.config(
            "allow_networks: [127.0.0.1/32]\nallow_http: true\n"
            "actions:\n  - id: sms\n    type: sms\n    to: \"%s\"\n    from: \"%s\"\n"
            "    sns:\n      region: %s\n      access_key_id: %s\n"
            "      secret_access_key_file: %s\n      session_token_env: AWS_SESSION_TOKEN\n"
            "      base_url: %s\n" % (OWNER, sender, s.region, s.access_key_id,
                                     self.secret_files["sns"], s.base_url))

    def test_sns(self):
        s = self.fake(F.SNS, region="eu-west-1", session_token=SNS_TOKEN)
        # libcurl before 8.3.0 signs the "Expect:" it removes (see
        # test_sns_signs_only_headers_it_sends); the signature is checked
        # here as libcurl computed it.
        s.strict_signed_headers = False
        for sender, attr in (("BrightSmile", "AWS.SNS.SMS.SenderID"),
                             (SENDER, "AWS.MM.SMS.OriginationNumber")):
            s.reset_log()
            cfg = self.sns_config(s, sender)
            entries, want = self.run_config(cfg, "sms", None, "--new-id")
            for rec, e in zip(self.recs, entries):
                r = want[(rec["call_id"], "sms")]
                m = [m for m in s.messages if m.text == r["text"]][0]
                self.check_sent(m, r, "Message")
                self.assertEqual(s.attributes(m.fields), {
                    "AWS.SNS.SMS.SMSType": "Transactional", attr: sender})
                self.assertEqual((m.fields["Action"], m.fields["PhoneNumber"]),
                                 ("Publish", OWNER))
                self.assertEqual(m.request.header("x-amz-security-token"), SNS_TOKEN)
                self.check_entry(e, "succeeded", 1, provider="sns", http_status=200)
                self.assertEqual(e["provider_message_id"], m.id)

    def test_sns_signs_only_headers_it_sends(self):
        s = self.fake(F.SNS, region="eu-west-1", session_token=SNS_TOKEN)
        self.addCleanup(s.problems.clear)  # the failure is the assertion below
        rc, out, err = self.sms("-c", self.sns_config(s, SENDER), stdin=jsonl(self.recs[:1]))
        self.assertEqual(s.problems, [])
        self.assertEqual(rc, 0, err)

    def test_sns_invalid_parameter(self):
        s = self.fake(F.SNS, session_token=SNS_TOKEN)
        s.strict_signed_headers = False
        s.default = "invalid_number"
        rec = self.recs[0]
        rc, out, err = self.sms("-c", self.sns_config(s, SENDER), "--retries", "2",
                                stdin=jsonl([rec]))
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(s.messages), 1)
        (e,) = self.entries([rec], out)
        self.check_entry(e, "failed", 1, provider="sns", code="InvalidParameter", http_status=400)
        self.assertIn("is not valid to publish to", e["error"]["message"])

    def generic_config(self, g, body):
        return self.config(
            "allow_networks: [127.0.0.1/32]\nallow_http: true\n"
            "actions:\n  - id: gw\n    type: sms\n    to: [\"%s\", \"%s\"]\n"
            "    from: \"%s\"\n    http:\n      url: %s\n%s"
            "      secret_file: %s\n" % (OWNER, OTHER, SENDER, g.url(g.path), body,
                                        self.secret_files["http"]))

    def test_generic_json(self):
        g = self.fake(F.Generic, json_body=True)
        cfg = self.generic_config(g, (
            "      headers:\n        Authorization: \"Bearer {{secret}}\"\n"
            "        X-Call: \"{{call_id}}\"\n"
            "      json:\n        to: \"{{to}}\"\n        from: \"{{from}}\"\n"
            "        text: \"{{text}}\"\n        encoding: \"{{encoding}}\"\n"
            "        segments: \"{{segments}}\"\n        ref: \"{{call_id}}/{{action_id}}\"\n"
            "      message_id: messages.0.id\n"))
        recs = [record(summary='Tom & Jerry said "hi" <ok> \\o/'), record(EMOJI_CALL)]
        entries, want = self.run_config(cfg, "gw", recs)
        self.assertEqual(len(g.messages), 4)
        for rec, e in zip(recs, entries):
            r = want[(rec["call_id"], "gw")]
            ms = [m for m in g.messages if m.text == r["text"]]
            self.assertEqual(sorted(m.to for m in ms), sorted([OWNER, OTHER]))
            for m in ms:
                self.check_sent(m, r)
                self.assertEqual(m.fields, {"to": m.to, "from": SENDER, "text": r["text"],
                                            "encoding": r["encoding"],
                                            "segments": str(r["segments"]),
                                            "ref": "%s/gw" % rec["call_id"]})
                self.assertEqual(m.request.header("x-call"), rec["call_id"])
            self.check_entry(e, "succeeded", 1, provider="http", action="gw")
            self.assertEqual(sorted(x["provider_message_id"] for x in e["recipients"]),
                             sorted(m.id for m in ms))
            self.assertEqual(e["credits"], 2 * r["segments"])

    def test_generic_form_put(self):
        g = self.fake(F.Generic, json_body=False, method="PUT", path="/api/v1/sms",
                      fields={"to": "To", "from": "Sender", "text": "Body"},
                      auth_header="X-Api-Key", auth_value="%s")
        cfg = self.generic_config(g, (
            "      method: PUT\n      headers:\n        X-Api-Key: \"{{secret}}\"\n"
            "      form:\n        To: \"{{to}}\"\n        Sender: \"{{from}}\"\n"
            "        Body: \"{{text}}\"\n"))
        entries, want = self.run_config(cfg, "gw")
        for rec, e in zip(self.recs, entries):
            r = want[(rec["call_id"], "gw")]
            for m in [m for m in g.messages if m.text == r["text"]]:
                self.check_sent(m, r, "Body")
                self.assertEqual(list(m.fields), ["To", "Sender", "Body"])
            self.check_entry(e, "succeeded", 1, provider="http", action="gw")
            # No message_id path: no id, but a success.
            self.assertNotIn("provider_message_id", e["recipients"][0])

    def test_generic_refusal_quotes_the_answer(self):
        g = self.fake(F.Generic)
        g.default = "invalid_number"
        cfg = self.generic_config(g, (
            "      headers:\n        Authorization: \"Bearer {{secret}}\"\n"
            "      json:\n        to: \"{{to}}\"\n        text: \"{{text}}\"\n"))
        rec = self.recs[0]
        rc, out, err = self.sms("-c", cfg, stdin=jsonl([rec]))
        self.assertEqual(rc, 1, err)
        (e,) = self.entries([rec], out, "gw")
        self.assertEqual(e["status"], "failed")
        for x in e["recipients"]:
            self.assertEqual((x["error"]["code"], x["http_status"]), ("http_422", 422))
            self.assertEqual(x["error"]["message"], '{"error":"invalid number"}')

    def test_twilio_over_tls(self):
        certs = (getattr(S, "shared_certs", None) or getattr(S, "test_certs"))()
        f = self.fake(F.Twilio, tls=certs.server)
        rec = self.recs[0]
        args = ["--provider", "twilio", "--account-sid", f.account_sid, "--secret-file",
                self.secret_files["twilio"], "--base-url", f.base_url, "--to", OWNER,
                "--from", SENDER, "--allow-private"]
        self.assertTrue(f.base_url.startswith("https://"))
        rc, out, err = self.sms(*args, "--cacert", certs.ca_cert, stdin=jsonl([rec]))
        self.assertEqual(rc, 0, err)
        self.check_entry(self.entries([rec], out)[0], "succeeded", 1, http_status=201)
        rc, out, err = self.sms(*args, "--retries", "0", stdin=jsonl([rec]))
        self.assertEqual(rc, 1, err)
        self.check_entry(self.entries([rec], out)[0], "failed", 1, code="tls")
        self.assertEqual(f.count(), 1)

    def test_a_fake_refuses_a_wrong_secret(self):
        """The fakes can fail: a wrong auth token gets Twilio's 401 20003."""
        f = self.fake(F.Twilio)
        self.addCleanup(f.problems.clear)
        wrong = T.write_file(self.path("wrong.secret"), "not-the-token", 0o600)
        rec = self.recs[0]
        rc, out, err = self.sms("--provider", "twilio", "--account-sid", f.account_sid,
                                "--secret-file", wrong, "--base-url", f.base_url, "--to", OWNER,
                                "--from", SENDER, "--allow-private", "--allow-http",
                                stdin=jsonl([rec]))
        self.assertEqual(rc, 1, err)
        self.check_entry(self.entries([rec], out)[0], "failed", 1, code="20003", http_status=401)
        self.assertEqual(len(f.problems), 1)
        self.assertIn("basic auth", f.problems[0])


# ---- dry runs, secrets ----


class DryRunTest(SmsCase):
    def test_dry_run_masks_every_secret(self):
        self.env["AWS_SESSION_TOKEN"] = SNS_TOKEN
        base = "https://127.0.0.1:9"
        cfg = self.config(
            "actions:\n"
            "  - id: tw\n    type: sms\n    to: \"%(o)s\"\n    from: \"%(s)s\"\n"
            "    twilio: {account_sid: %(sid)s, auth_token_file: %(tw)s, base_url: \"%(b)s\"}\n"
            "  - id: vg\n    type: sms\n    to: \"%(o)s\"\n    from: \"%(s)s\"\n"
            "    vonage: {api_key: k1, api_secret_file: %(vg)s, base_url: \"%(b)s\"}\n"
            "  - id: tx\n    type: sms\n    to: \"%(o)s\"\n    from: \"%(s)s\"\n"
            "    telnyx: {api_key_file: %(tx)s, base_url: \"%(b)s\"}\n"
            "  - id: sn\n    type: sms\n    to: \"%(o)s\"\n    from: \"%(s)s\"\n"
            "    sns: {region: us-east-1, access_key_id: AKIDEXAMPLE, secret_access_key_file: "
            "%(sn)s, session_token_env: AWS_SESSION_TOKEN, base_url: \"%(b)s\"}\n"
            "  - id: gw\n    type: sms\n    to: \"%(o)s\"\n    from: \"%(s)s\"\n"
            "    http:\n      url: %(b)s/send\n      secret_file: %(gw)s\n"
            "      headers: {X-Key: \"{{secret}}\"}\n"
            "      json: {to: \"{{to}}\", text: \"{{text}}\", sig: \"k={{secret}}\"}\n"
            % {"o": OWNER, "s": SENDER, "sid": ACCOUNT_SID, "b": base,
               "tw": self.secret_files["twilio"], "vg": self.secret_files["vonage"],
               "tx": self.secret_files["telnyx"], "sn": self.secret_files["sns"],
               "gw": self.secret_files["http"]})
        rec = record()
        rc, out, err = self.sms("-c", cfg, "--dry-run", "--now", NOW, stdin=jsonl([rec]))
        self.assertEqual((rc, err), (0, ""))
        text = out.decode()
        want = self.rendered([rec], config=cfg)[(GSM_CALL, "tw")]["text"]
        self.assertEqual(text.count("POST %s" % base), 5, text)
        self.assertIn("POST %s/2010-04-01/Accounts/%s/Messages.json\nAuthorization: Basic ***\n"
                      % (base, ACCOUNT_SID), text)
        self.assertIn("api_key=k1&api_secret=***&from=", text)
        self.assertIn("Authorization: Bearer ***\n", text)
        self.assertIn("Authorization: AWS4-HMAC-SHA256 ***\n", text)
        self.assertIn("X-Amz-Security-Token: ***\n", text)
        self.assertIn("X-Key: ***\n", text)
        self.assertIn('"sig":"k=***"', text)
        self.assertIn("Body=" + pct(want).decode(), text)
        self.assertIn('"text":%s' % json.dumps(want, ensure_ascii=False), text)


# ---- configuration and usage errors ----


class ConfigErrorTest(SmsCase):
    def setUp(self):
        super().setUp()
        self.f = self.fake(F.Twilio)

    def check_78(self, text, where, words, args=()):
        cfg = self.config(text)
        rc, out, err = self.sms("-c", cfg, "--allow-private", "--allow-http", *args,
                                stdin=jsonl([record()]))
        self.assertEqual((rc, out), (78, b""), err)
        self.assertRegex(err, r"^pca-send-sms: %s:%s: " % (re.escape(cfg), where))
        for w in words:
            self.assertIn(w, err)
        self.assertEqual(self.f.count(), 0)

    def head(self, extra=""):
        return ("actions:\n  - id: s1\n    type: sms\n    to: \"%s\"\n    from: \"%s\"\n%s"
                % (OWNER, SENDER, extra))

    def test_no_provider(self):
        self.check_78(self.head(), "2:5", ["action s1", "no SMS provider"])

    def test_missing_secret_file(self):
        missing = self.path("nope", "token")
        self.check_78(self.head("    twilio:\n      account_sid: AC1\n"
                                "      auth_token_file: %s\n      base_url: %s\n"
                                % (missing, self.f.base_url)),
                      "8:24", [missing, "No such file"])

    def test_unknown_provider_key(self):
        self.check_78(self.head("    twilio:\n      account_sid: AC1\n"
                                "      auth_token_file: %s\n      acount_sid: x\n"
                                % self.secret_files["twilio"]),
                      "9:7", ['unknown key "acount_sid"', "account_sid"])

    def test_unknown_provider(self):
        self.check_78(self.head("    provider: plivo\n"), "6:15", ['"plivo"', "twilio"])

    def test_two_provider_sections(self):
        self.check_78(self.head("    twilio: {account_sid: AC1, auth_token_file: %s}\n"
                                "    vonage: {api_key: k, api_secret_file: %s}\n"
                                % (self.secret_files["twilio"], self.secret_files["vonage"])),
                      r"7:\d+", ["one provider per action"])

    def test_inline_secret_in_a_readable_file(self):
        text = self.head("    twilio: {account_sid: AC1, auth_token: inline-token, "
                         "base_url: \"%s\"}\n" % self.f.base_url)
        cfg = self.config(text, mode=0o644)
        rc, out, err = self.sms("-c", cfg, "--allow-private", "--allow-http",
                                stdin=jsonl([record()]))
        self.assertEqual((rc, out), (78, b""), err)
        self.assertIn(cfg, err)
        self.assertNotIn("inline-token", err)
        self.assertEqual(self.f.count(), 0)

    def test_plain_http_refused(self):
        rc, out, err = self.sms(*self.twilio_args(self.f, private=False),
                                stdin=jsonl([record()]))
        self.assertEqual((rc, out), (78, b""), err)
        self.assertIn("plain http", err)

    def test_private_address_needs_allowing(self):
        rec = record()
        rc, out, err = self.sms(*self.twilio_args(self.f, private=False), "--allow-http",
                                stdin=jsonl([rec]))
        self.assertEqual(rc, 1, err)
        self.check_entry(self.entries([rec], out)[0], "failed", 1, code="blocked_ip")
        self.assertEqual(self.f.count(), 0)

    def test_adhoc_config_errors(self):
        base = ["--secret-file", self.secret_files["twilio"], "--to", OWNER, "--from", SENDER]
        for args, words in ((["--provider", "sns"], "sns and http need a configuration"),
                            (["--provider", "twilio"], "needs --account-sid"),
                            (["--provider", "vonage"], "needs --api-key"),
                            (["--provider", "twilio", "--account-sid", "AC1", "--secret-file",
                              self.path("missing")], "missing")):
            rc, out, err = self.sms(*base, *args, stdin=jsonl([record()]))
            self.assertEqual((rc, out), (78, b""), (args, err))
            self.assertIn(words, err)

    def test_usage_errors(self):
        sec = ["--secret-file", self.secret_files["twilio"]]
        for args in (["--provider", "twilio"] + sec,
                     ["--provider", "twilio", "--to", OWNER],
                     ["--provider", "twilio", "--to", OWNER, "-c", "x.yaml"] + sec,
                     ["--provider", "twilio", "--to", OWNER, "--max-segments", "11"] + sec,
                     ["--provider", "twilio", "--to", OWNER, "--secret-env", "X"] + sec,
                     ["--drain", "--list"],
                     ["--status", "due"]):
            rc, out, err = self.sms(*args, stdin=b"")
            self.assertEqual((rc, out), (2, b""), (args, err))
        rc, out, err = self.sms("--provider", "twilio", "--to", "4155550100", "--account-sid",
                                "AC1", *sec, stdin=b"")
        self.assertEqual(rc, 78, err)
        self.assertIn("not an E.164 number", err)


if __name__ == "__main__":
    unittest.main()
