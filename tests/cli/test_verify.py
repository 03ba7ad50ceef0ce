"""pca-verify: every input style, every exit status, signing round trips, and
the secret never appearing in what the program prints.

Expected signatures are computed here with Python's hmac module, not with the
program under test."""
import base64
import hashlib
import hmac
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcatest  # noqa: E402

PROG = pcatest.program("pca-verify")

K1 = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
K1_B64 = K1[len("whsec_"):]
ID1 = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS1 = 1614265330
B1 = b'{"test": 2432232314}'
S1 = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
K2 = "whsec_" + base64.b64encode(bytes(range(32, 64))).decode()
K3 = "whsec_" + base64.b64encode(bytes(range(200, 232))).decode()
WHPK = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
SA = ("v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM"
      "+m7TBAg==")
ALL_SECRETS = [K1_B64, K2[6:], K3[6:], "whsec_test_secret", "It's a Secret to Everybody"]


def sw_sign(secret, msg_id, ts, body):
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def rfc3339(ts):
    import datetime
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")


class VerifyCase(pcatest.TempDirCase):
    def setUp(self):
        super().setUp()
        self.k1 = pcatest.write_file(self.path("k1.txt"), K1 + "\n")
        self.body = pcatest.write_file(self.path("body.json"), B1)
        self.outputs = []

    def run_verify(self, *args, stdin=b"", env=None, stdout=None):
        kw = {} if stdout is None else {"stdout": stdout}
        rc, out, err = pcatest.run([PROG, *args], stdin=stdin, env=env or self.env, **kw)
        self.outputs.append(out.decode("utf-8", "replace") + err)
        return rc, out, err

    def flags(self, *extra, sig=S1, ts=TS1, msg_id=ID1):
        return ["-f", self.k1, "--id", msg_id, "--timestamp", str(ts), "--signature", sig, *extra]

    def assert_fails(self, args, rc, line, stdin=b""):
        got_rc, out, err = self.run_verify(*args, stdin=stdin)
        self.assertEqual(got_rc, rc, err)
        lines = pcatest.stderr_lines(err)
        self.assertEqual(len(lines), 1 if rc == 1 else len(lines), err)
        self.assertIn(line, lines[0], err)
        return err

    def tearDown(self):
        # Whatever a test ran, no secret may have been printed.
        for text in self.outputs:
            for s in ALL_SECRETS:
                self.assertNotIn(s, text)
        super().tearDown()


class FlagsTest(VerifyCase):
    def test_valid_is_silent(self):
        rc, out, err = self.run_verify(*self.flags("--now", str(TS1)), self.body)
        self.assertEqual((rc, out, err), (0, b"", ""))

    def test_quiet_and_verbose(self):
        now = ["--now", str(TS1)]
        rc, out, err = self.run_verify(*self.flags(*now, "-v"), self.body)
        self.assertEqual((rc, out, err), (0, b"", "pca-verify: valid\n"))
        rc, out, err = self.run_verify(*self.flags(*now, "--quiet", sig=S1[:-2] + "A="),
                                       self.body)
        self.assertEqual((rc, out, err), (1, b"", ""))
        # Errors still show.
        rc, out, err = self.run_verify("-q", "-f", self.path("missing"), "--id", ID1,
                                       "--timestamp", str(TS1), "--signature", S1, self.body)
        self.assertEqual(rc, 78)
        self.assertIn("missing", err)

    def test_body_from_stdin(self):
        rc, _, err = self.run_verify(*self.flags("--now", str(TS1)), stdin=B1)
        self.assertEqual(rc, 0, err)
        rc, _, err = self.run_verify(*self.flags("--now", str(TS1)), "-", stdin=B1)
        self.assertEqual(rc, 0, err)

    def test_each_failure_says_why_in_one_line(self):
        now = ["--now", str(TS1)]
        self.assert_fails(self.flags(*now, self.body, sig=S1[:-2] + "A="), 1,
                          "pca-verify: no matching signature")
        self.assert_fails(self.flags("--now", str(TS1 + 412), self.body), 1,
                          "pca-verify: timestamp too old (412 s > 300 s)")
        self.assert_fails(self.flags("--now", str(TS1 - 301), self.body), 1,
                          "pca-verify: timestamp too new (301 s ahead > 300 s)")
        for sig in ("v1,", "", "junk", "v1," + "A" * 100_000):
            self.assert_fails(self.flags(*now, self.body, sig=sig), 1,
                              "pca-verify: malformed webhook-signature header")
        self.assert_fails(self.flags(*now, self.body, ts="1614265330.5"), 1,
                          "pca-verify: malformed webhook-timestamp header")
        self.assert_fails(self.flags(*now), 1, "no matching signature", stdin=B1 + b" ")

    def test_boundaries(self):
        for now, rc in ((TS1 + 300, 0), (TS1 + 301, 1), (TS1 - 300, 0), (TS1 - 301, 1)):
            got, _, err = self.run_verify(*self.flags("--now", str(now)), self.body)
            self.assertEqual(got, rc, f"now={now}: {err}")

    def test_tolerance_and_no_timestamp(self):
        late = ["--now", str(TS1 + 3600)]
        self.assertEqual(self.run_verify(*self.flags(*late), self.body)[0], 1)
        self.assertEqual(self.run_verify(*self.flags(*late, "--tolerance", "1h"), self.body)[0], 0)
        self.assertEqual(self.run_verify(*self.flags(*late, "-t", "3600"), self.body)[0], 0)
        rc, _, err = self.run_verify(*self.flags("--no-timestamp"), self.body)
        self.assertEqual(rc, 0, err)

    def test_now_as_rfc3339(self):
        rc, _, err = self.run_verify(*self.flags("--now", "2021-02-25T15:02:10Z"), self.body)
        self.assertEqual(rc, 0, err)
        rc, _, err = self.run_verify(*self.flags("--now", "2021-02-25T15:12:10Z"), self.body)
        self.assertEqual(rc, 1)
        self.assertIn("timestamp too old (600 s > 300 s)", err)

    def test_tampered_id(self):
        self.assert_fails(self.flags("--now", str(TS1), self.body, msg_id=ID1 + "x"), 1,
                          "no matching signature")

    def test_nul_bytes_in_body(self):
        body = b"\x00a\x00b\x00\xff\n"
        f = pcatest.write_file(self.path("nul.bin"), body)
        sig = sw_sign(K1, ID1, TS1, body)
        self.assertEqual(self.run_verify(*self.flags("--now", str(TS1), sig=sig), f)[0], 0)
        cut = pcatest.write_file(self.path("cut.bin"), body[:1])
        self.assertEqual(self.run_verify(*self.flags("--now", str(TS1), sig=sig), cut)[0], 1)

    def test_twenty_megabytes(self):
        body = bytes(range(256)) * (20 * 4096)
        f = pcatest.write_file(self.path("big.bin"), body)
        sig = sw_sign(K1, ID1, TS1, body)
        rc, _, err = self.run_verify(*self.flags("--no-timestamp", sig=sig), f)
        self.assertEqual(rc, 0, err)
        rc, _, err = self.run_verify(*self.flags("--no-timestamp", sig=sig), stdin=body)
        self.assertEqual(rc, 0, err)
        rc, _, _ = self.run_verify(*self.flags("--no-timestamp", sig=sig), stdin=body[:-1] + b"x")
        self.assertEqual(rc, 1)


class SecretsTest(VerifyCase):
    def test_several_secrets_in_one_file(self):
        both = pcatest.write_file(self.path("both.txt"), f"{K2}\n{K1}\n")
        spaced = pcatest.write_file(self.path("spaced.txt"), f"  {K2}\t{K1}  ")
        for f in (both, spaced):
            rc, _, err = self.run_verify("-f", f, "--id", ID1, "--timestamp", str(TS1),
                                         "--signature", S1, "--now", str(TS1), self.body)
            self.assertEqual(rc, 0, err)

    def test_rotation_across_files_and_environment(self):
        k2 = pcatest.write_file(self.path("k2.txt"), K2)
        env = dict(self.env, OLD_SECRET=K1)
        sig = sw_sign(K3, ID1, TS1, B1) + " " + S1
        rc, _, err = self.run_verify("-f", k2, "-e", "OLD_SECRET", "--id", ID1, "--timestamp",
                                     str(TS1), "--signature", sig, "--no-timestamp", self.body,
                                     env=env)
        self.assertEqual(rc, 0, err)
        rc, _, err = self.run_verify("-f", k2, "--id", ID1, "--timestamp", str(TS1),
                                     "--signature", sig, "--no-timestamp", self.body)
        self.assertEqual(rc, 1)
        self.assertIn("no matching signature", err)

    def test_bad_secrets_are_configuration_errors(self):
        cases = {
            "short.txt": ("whsec_" + base64.b64encode(bytes(23)).decode(), "23 bytes"),
            "notb64.txt": ("whsec_" + K1_B64[:10] + "!" + K1_B64[11:], "not valid base64"),
            "sig.txt": (S1, "looks like a signature"),
            "bare.txt": (K1_B64, "not a Standard Webhooks secret"),
            "empty.txt": ("\n", "none given"),
        }
        for name, (text, why) in cases.items():
            f = pcatest.write_file(self.path(name), text)
            rc, out, err = self.run_verify("-f", f, "--id", ID1, "--timestamp", str(TS1),
                                           "--signature", S1, self.body)
            self.assertEqual(rc, 78, f"{name}: {err}")
            self.assertIn(why, err)
            self.assertNotIn(K1_B64[4:12], err)

    def test_unreadable_secret_sources(self):
        args = ["--id", ID1, "--timestamp", str(TS1), "--signature", S1, self.body]
        self.assertEqual(self.run_verify("-f", self.path("missing"), *args)[0], 78)
        self.assertEqual(self.run_verify("-f", self.tmp, *args)[0], 78)
        rc, _, err = self.run_verify("-e", "PCA_NO_SUCH_VARIABLE", *args)
        self.assertEqual(rc, 78)
        self.assertIn("--secret-env PCA_NO_SUCH_VARIABLE: not set", err)

    def test_long_secret_warns(self):
        f = pcatest.write_file(self.path("long.txt"), "whsec_" +
                               base64.b64encode(bytes(range(80))).decode())
        sig = sw_sign("whsec_" + base64.b64encode(bytes(range(80))).decode(), ID1, TS1, B1)
        rc, _, err = self.run_verify("-f", f, "--id", ID1, "--timestamp", str(TS1),
                                     "--signature", sig, "--no-timestamp", self.body)
        self.assertEqual(rc, 0, err)
        self.assertIn("warning: secret 1 is 80 bytes, over the 64", err)

    def test_secret_on_the_command_line_is_refused_unprinted(self):
        for args in (["--secret=" + K1], ["--secret", K1], ["--secrets=" + K1]):
            rc, _, err = self.run_verify(*args, "--headers", "x")
            self.assertEqual(rc, 2, err)
        rc, _, err = self.run_verify("-f", self.k1, "--headers", self.body, K1)
        self.assertEqual(rc, 2)
        self.assertIn("looks like a secret", err)
        rc, _, err = self.run_verify("-f", self.k1, "--scheme", K1, "--headers", self.body)
        self.assertEqual(rc, 2)

    def test_v1a_needs_the_flag(self):
        pk = pcatest.write_file(self.path("pk.txt"), WHPK)
        args = ["-f", pk, "--id", ID1, "--timestamp", str(TS1), "--signature", SA, "--now",
                str(TS1), self.body]
        rc, _, err = self.run_verify(*args)
        self.assertEqual(rc, 78)
        self.assertIn("(add --v1a)", err)
        rc, _, err = self.run_verify("--v1a", *args)
        self.assertEqual(rc, 0, err)
        rc, _, err = self.run_verify("--v1a", *args[:-1], stdin=B1 + b"x")
        self.assertEqual(rc, 1)


class HeadersTest(VerifyCase):
    def headers(self, text, name="headers.txt"):
        return pcatest.write_file(self.path(name), text)

    def block(self, prefix="webhook", sig=S1, eol="\n", case=str):
        return (f"{case(prefix + '-id')}: {ID1}{eol}{case(prefix + '-timestamp')}: {TS1}{eol}"
                f"{case(prefix + '-signature')}: {sig}{eol}")

    def test_header_block_and_body_file(self):
        h = self.headers("Content-Type: application/json\n" + self.block())
        rc, _, err = self.run_verify("-f", self.k1, "-H", h, "--now", str(TS1), self.body)
        self.assertEqual(rc, 0, err)
        rc, _, err = self.run_verify("-f", self.k1, "-H", h, "--now", str(TS1), stdin=B1)
        self.assertEqual(rc, 0, err)

    def test_names_any_case_crlf_and_svix(self):
        for i, text in enumerate([self.block(eol="\r\n", case=str.upper),
                                  self.block(prefix="svix"),
                                  self.block(prefix="Svix", case=str.title)]):
            h = self.headers(text, f"h{i}.txt")
            rc, _, err = self.run_verify("-f", self.k1, "--headers", h, "--now", str(TS1),
                                         self.body)
            self.assertEqual(rc, 0, f"{text!r}: {err}")

    def test_request_dump(self):
        req = (f"POST /hooks/pca HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(B1)}\r\n"
               + self.block(eol="\r\n") + "\r\n").encode() + B1
        h = pcatest.write_file(self.path("request.txt"), req)
        rc, _, err = self.run_verify("-f", self.k1, "--headers", h, "--now", str(TS1))
        self.assertEqual(rc, 0, err)
        # An editor's final newline is not part of a body of Content-Length bytes.
        h2 = pcatest.write_file(self.path("request2.txt"), req + b"\n")
        self.assertEqual(self.run_verify("-f", self.k1, "-H", h2, "--now", str(TS1))[0], 0)
        # Without Content-Length, everything after the blank line is the body.
        req3 = req.replace(f"Content-Length: {len(B1)}\r\n".encode(), b"")
        h3 = pcatest.write_file(self.path("request3.txt"), req3)
        self.assertEqual(self.run_verify("-f", self.k1, "-H", h3, "--now", str(TS1))[0], 0)
        rc, _, err = self.run_verify("-f", self.k1, "-H", h, "--now", str(TS1), self.body)
        self.assertEqual(rc, 2)
        self.assertIn("give no BODY-FILE", err)
        short = pcatest.write_file(self.path("short.txt"), req[:-3])
        rc, _, err = self.run_verify("-f", self.k1, "-H", short, "--now", str(TS1))
        self.assertEqual(rc, 65)
        self.assertIn("only", err)
        # Two lengths, or a chunked body: which bytes the receiver read is unknown.
        cl = f"Content-Length: {len(B1)}\r\n".encode()
        twice = pcatest.write_file(self.path("twice.txt"), req.replace(cl, cl + cl))
        rc, _, err = self.run_verify("-f", self.k1, "-H", twice, "--now", str(TS1))
        self.assertEqual(rc, 65, err)
        self.assertIn("malformed Content-Length header (it appears twice in " + twice, err)
        chunked = pcatest.write_file(self.path("chunked.txt"), req3.replace(
            b"\r\n\r\n", b"\r\nTransfer-Encoding: chunked\r\n\r\n", 1))
        rc, _, err = self.run_verify("-f", self.k1, "-H", chunked, "--now", str(TS1))
        self.assertEqual(rc, 65, err)
        self.assertIn(chunked + ": a body with Transfer-Encoding chunked: save the decoded body", err)

    def test_dump_with_tampered_body(self):
        req = ("POST / HTTP/1.1\n" + self.block() + "\n").encode() + B1.replace(b"4}", b"5}")
        h = pcatest.write_file(self.path("request.txt"), req)
        self.assert_fails(["-f", self.k1, "-H", h, "--now", str(TS1)], 1, "no matching signature")

    def test_missing_and_duplicate_headers(self):
        h = self.headers(f"webhook-id: {ID1}\nwebhook-timestamp: {TS1}\n")
        self.assert_fails(["-f", self.k1, "-H", h, self.body], 1,
                          "pca-verify: missing webhook-signature header")
        h = self.headers(self.block() + f"webhook-signature: {S1}\n", "dup.txt")
        self.assert_fails(["-f", self.k1, "-H", h, self.body], 1,
                          "malformed webhook-signature header (it appears twice")
        h = self.headers("this is not a header\n", "junk.txt")
        rc, _, err = self.run_verify("-f", self.k1, "-H", h, self.body)
        self.assertEqual(rc, 65, err)

    def test_stripe_github_twilio_headers(self):
        sk = pcatest.write_file(self.path("stripe.txt"), "whsec_test_secret\n")
        sbody = b'{"id":"evt_test_webhook","object":"event"}'
        h = self.headers("Stripe-Signature: t=1614265330,v1=3c5817089d739023dd6190f70a3757e04f"
                         "7a2fd8b5dab12c2e000f51970dccff\n", "stripe-h.txt")
        rc, _, err = self.run_verify("-s", "stripe", "-f", sk, "-H", h, "--now", str(TS1 + 300),
                                     stdin=sbody)
        self.assertEqual(rc, 0, err)
        self.assert_fails(["-s", "stripe", "-f", sk, "-H", h, "--now", str(TS1 + 301)], 1,
                          "timestamp too old (301 s > 300 s)", stdin=sbody)

        gk = pcatest.write_file(self.path("gh.txt"), "It's a Secret to Everybody\n")
        req = (b"POST /payload HTTP/1.1\r\nX-GitHub-Event: ping\r\nx-hub-signature-256: sha256="
               b"757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\r\n\r\n"
               b"Hello, World!")
        h = pcatest.write_file(self.path("gh-req.txt"), req)
        rc, _, err = self.run_verify("--scheme", "github", "-f", gk, "-H", h)
        self.assertEqual(rc, 0, err)

        tk = pcatest.write_file(self.path("tw.txt"), "12345\n")
        form = (b"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&"
                b"From=%2B14158675309&To=%2B18005551212")
        req = (b"POST /myapp.php?foo=1&bar=2 HTTP/1.1\r\nHost: mycompany.com\r\n"
               b"Content-Type: application/x-www-form-urlencoded\r\n"
               b"X-Twilio-Signature: RSOYDt4T1cUTdK1PDd93/VVr8B8=\r\n\r\n" + form)
        h = pcatest.write_file(self.path("tw-req.txt"), req)
        url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        rc, _, err = self.run_verify("-s", "twilio", "-f", tk, "-H", h, "--url", url)
        self.assertEqual(rc, 0, err)
        rc, _, err = self.run_verify("-s", "twilio", "-f", tk, "-H", h, "--url",
                                     url.replace(".com/", ".com:443/"))
        self.assertEqual(rc, 0, err)
        h = pcatest.write_file(self.path("tw-bad.txt"), req.replace(b"Digits=1234", b"Digits=1235"))
        self.assert_fails(["-s", "twilio", "-f", tk, "-H", h, "--url", url], 1,
                          "no matching signature")


class LogTest(VerifyCase):
    def entry(self, n, body, at_offset=3, sign_body=None, bodies=True, ts=None):
        ts = TS1 + 10 * n if ts is None else ts
        msg_id = f"pca:crm-webhook:call_{n:04d}"
        e = {"at": rfc3339(ts + at_offset), "webhook_id": msg_id, "timestamp": ts,
             "signature": sw_sign(K1, msg_id, ts, sign_body if sign_body is not None else body),
             "url": "https://127.0.0.1/hook", "status": 200, "latency_ms": 12,
             "body_sha256": hashlib.sha256(body).hexdigest(), "call_id": f"call_{n:04d}",
             "action_id": "crm-webhook", "attempt": 1}
        if bodies:
            e["body"] = body.decode("utf-8")
        return e

    def write_log(self, entries, name="log.jsonl", extra=b""):
        data = b"".join(pcatest.dump_record(e) for e in entries) + extra
        return pcatest.write_file(self.path(name), data)

    def verdicts(self, out):
        return pcatest.load_jsonl(out)

    def test_all_valid(self):
        entries = [self.entry(n, b'{"n":%d,"s":"caf\xc3\xa9 \\"q\\""}' % n) for n in range(50)]
        log = self.write_log(entries)
        rc, out, err = self.run_verify("-f", self.k1, "--log", log)
        self.assertEqual((rc, err), (0, ""))
        v = self.verdicts(out)
        self.assertEqual(len(v), 50)
        self.assertEqual(v[7], {"line": 8, "webhook_id": "pca:crm-webhook:call_0007",
                                "valid": True, "verdict": "valid", "reason": "valid"})

    def test_invalid_entries_are_reported_and_the_rest_checked(self):
        entries = [self.entry(0, b"{}"), self.entry(1, b'{"a":1}', sign_body=b'{"a":2}'),
                   self.entry(2, b"{}", at_offset=400), self.entry(3, b"{}", at_offset=-301),
                   self.entry(4, b"{}")]
        entries[4]["signature"] = "v1,"
        log = self.write_log(entries, extra=b"\n\n" + pcatest.dump_record(self.entry(5, b"[]")))
        rc, out, err = self.run_verify("-f", self.k1, "--log", log)
        self.assertEqual(rc, 1, err)
        v = self.verdicts(out)
        self.assertEqual([e["verdict"] for e in v],
                         ["valid", "no_match", "too_old", "too_new", "malformed", "valid"])
        self.assertEqual(v[2]["reason"], "timestamp too old (400 s > 300 s)")
        self.assertEqual(v[5]["line"], 8)
        self.assertIn("4 of 6 entries invalid", err)
        rc, out2, err = self.run_verify("-q", "-f", self.k1, "--log", log)
        self.assertEqual((rc, out2, err), (1, out, ""))

    def test_verbose_batch(self):
        log = self.write_log([self.entry(n, b"{}") for n in range(3)])
        rc, out, err = self.run_verify("-v", "-f", self.k1, "--log", log)
        self.assertEqual((rc, err), (0, "pca-verify: %s: 3 entries, all valid\n" % log))

    def test_now_and_no_timestamp_override_at(self):
        log = self.write_log([self.entry(n, b"{}") for n in range(3)])
        rc, out, _ = self.run_verify("-f", self.k1, "--log", log, "--now", str(TS1 + 10_000))
        self.assertEqual(rc, 1)
        self.assertEqual({e["verdict"] for e in self.verdicts(out)}, {"too_old"})
        rc, out, err = self.run_verify("-f", self.k1, "--log", log, "--no-timestamp")
        self.assertEqual(rc, 0, err)
        rc, out, err = self.run_verify("-f", self.k1, "--log", log, "--tolerance", "2")
        self.assertEqual(rc, 1)

    def test_without_bodies(self):
        body = b'{"type":"call.ended"}'
        log = self.write_log([self.entry(n, body, bodies=False) for n in range(3)])
        rc, out, _ = self.run_verify("-f", self.k1, "--log", log)
        self.assertEqual(rc, 1)
        v = self.verdicts(out)
        self.assertEqual(v[0]["reason"], "no body in the log (run pca-webhook with --log-bodies)")
        self.assertFalse(v[0]["valid"])
        f = pcatest.write_file(self.path("body.json"), body)
        rc, out, err = self.run_verify("-f", self.k1, "--log", log, f)
        self.assertEqual(rc, 0, err)
        other = pcatest.write_file(self.path("other.json"), body + b" ")
        rc, out, _ = self.run_verify("-f", self.k1, "--log", log, other)
        self.assertEqual(rc, 1)
        self.assertEqual(self.verdicts(out)[0]["verdict"], "body_mismatch")

    def test_a_cut_line_does_not_change_the_next(self):
        """json-c 0.16 carries a pending high surrogate over a reset: after
        a line cut inside "\\ud83d\\u00", the next line's first \\u escape
        would gain a U+FFFD, and its body no longer match."""
        e = self.entry(0, '{"s":"café"}'.encode())
        line = json.dumps(e, ensure_ascii=True).encode() + b"\n"  # é as \u00e9
        self.assertIn(b"\\u00e9", line)
        log = pcatest.write_file(self.path("log.jsonl"), b'"\\ud83d\\u00\n' + line)
        rc, out, err = self.run_verify("-f", self.k1, "--log", log)
        self.assertEqual(rc, 65, err)
        self.assertEqual([e["verdict"] for e in self.verdicts(out)], ["not_an_entry", "valid"])

    def test_lines_that_are_not_entries(self):
        log = self.write_log([self.entry(0, b"{}")], extra=b"not json\n[1,2]\n{\"a\":1} x\n")
        rc, out, err = self.run_verify("-f", self.k1, "--log", log)
        self.assertEqual(rc, 65, err)
        self.assertEqual([e["verdict"] for e in self.verdicts(out)],
                         ["valid", "not_an_entry", "not_an_entry", "not_an_entry"])
        self.assertIn("log.jsonl:2: not a log entry", err)

    def test_log_from_stdin(self):
        data = pcatest.dump_record(self.entry(0, b"{}"))
        rc, out, err = self.run_verify("-f", self.k1, "--log", "-", stdin=data)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.verdicts(out)), 1)


class SignTest(VerifyCase):
    def test_standard_round_trip(self):
        rc, out, err = self.run_verify("-f", self.k1, "--sign", "--id", ID1, "--now", str(TS1),
                                       self.body)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.decode(), f"webhook-id: {ID1}\nwebhook-timestamp: {TS1}\n"
                                       f"webhook-signature: {S1}\n")
        h = pcatest.write_file(self.path("h.txt"), out)
        rc, _, err = self.run_verify("-f", self.k1, "-H", h, "--now", str(TS1), self.body)
        self.assertEqual(rc, 0, err)

    def test_sign_with_the_clock_then_verify_now(self):
        both = pcatest.write_file(self.path("both.txt"), f"{K2} {K1}")
        rc, out, err = self.run_verify("-f", both, "--sign", "--id", "evt_1", self.body)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.decode().count("v1,"), 2)
        h = pcatest.write_file(self.path("h.txt"), out)
        rc, _, err = self.run_verify("-f", self.k1, "-H", h, self.body)
        self.assertEqual(rc, 0, err)

    def test_other_schemes_round_trip(self):
        sk = pcatest.write_file(self.path("s.txt"), "whsec_test_secret")
        gk = pcatest.write_file(self.path("g.txt"), "It's a Secret to Everybody")
        tk = pcatest.write_file(self.path("t.txt"), "12345")
        form = b"To=%2B18005551212&From=%2B14158675309&Body=hi+there"
        fbody = pcatest.write_file(self.path("form.txt"), form)
        url = "https://mycompany.com/sms?x=1"
        mac = hmac.new(b"whsec_test_secret", b"1614265330." + B1, hashlib.sha256).hexdigest()
        gmac = hmac.new(b"It's a Secret to Everybody", B1, hashlib.sha256).hexdigest()
        tmac = base64.b64encode(hmac.new(b"12345", (url + "Bodyhi thereFrom+14158675309"
                                                    "To+18005551212").encode(),
                                         hashlib.sha1).digest()).decode()
        cases = [("stripe", sk, ["--timestamp", str(TS1)], [], self.body,
                  f"Stripe-Signature: t=1614265330,v1={mac}\n"),
                 ("github", gk, [], [], self.body, f"X-Hub-Signature-256: sha256={gmac}\n"),
                 ("twilio", tk, ["--url", url], ["--url", url], fbody,
                  f"X-Twilio-Signature: {tmac}\n")]
        for scheme, key, sign_args, verify_args, body, want in cases:
            rc, out, err = self.run_verify("-s", scheme, "-f", key, "--sign", *sign_args, body)
            self.assertEqual((rc, out.decode()), (0, want), err)
            h = pcatest.write_file(self.path(scheme + ".h"), out)
            rc, _, err = self.run_verify("-s", scheme, "-f", key, "-H", h, "--now", str(TS1),
                                         *verify_args, body)
            self.assertEqual(rc, 0, f"{scheme}: {err}")

    def test_sign_refuses_a_dotted_id(self):
        rc, _, err = self.run_verify("-f", self.k1, "--sign", "--id", "a.b", self.body)
        self.assertEqual(rc, 2)
        self.assertIn("contains '.'", err)

    def test_write_error(self):
        with open("/dev/full", "wb") as full:
            rc, _, err = self.run_verify("-f", self.k1, "--sign", "--id", ID1, self.body,
                                         stdout=full)
        self.assertEqual(rc, 74, err)


class UsageTest(VerifyCase):
    def test_usage_errors(self):
        h = pcatest.write_file(self.path("h.txt"), "webhook-id: x\n")
        cases = [
            [],
            ["--headers", h],
            ["-f", self.k1],
            ["-f", self.k1, "--headers", h, "--log", h],
            ["-f", self.k1, "--headers", h, "--signature", S1],
            ["-f", self.k1, "--signature", S1],
            ["-f", self.k1, "--id", ID1, "--timestamp", "1"],
            ["-f", self.k1, "--scheme", "nope", "--headers", h],
            ["-f", self.k1, "--scheme", "stripe", "--id", "x", "--signature", "t=1,v1=00"],
            ["-f", self.k1, "--scheme", "twilio", "--signature", "x"],
            ["-f", self.k1, "--url", "https://x/", "--headers", h],
            ["-f", self.k1, "--headers", h, "--no-timestamp", "--now", "1"],
            ["-f", self.k1, "--headers", h, "--now", "yesterday"],
            ["-f", self.k1, "--headers", h, "--tolerance", "-5"],
            ["-f", self.k1, "--headers", h, "a", "b"],
            ["-f", self.k1, "--log", h, "--scheme", "github"],
            ["-f", self.k1, "--sign"],
            ["-f", self.k1, "--sign", "--id", "x", "--headers", h],
            ["-f", self.k1, "--bogus"],
            ["-f"],
        ]
        for args in cases:
            rc, out, err = self.run_verify(*args)
            self.assertEqual(rc, 2, f"{args}: {err}")
            self.assertIn("usage: pca-verify", err)
            self.assertEqual(out, b"")

    def test_unreadable_inputs(self):
        base = ["-f", self.k1]
        self.assertEqual(self.run_verify(*base, "-H", self.path("nope"), self.body)[0], 66)
        self.assertEqual(self.run_verify(*base, "--log", self.path("nope"))[0], 66)
        rc, _, err = self.run_verify(*base, "--id", ID1, "--timestamp", "1", "--signature", S1,
                                     self.path("nope"))
        self.assertEqual(rc, 66)
        self.assertIn("nope: No such file or directory", err)

    def test_help_lists_every_option(self):
        rc, out, err = self.run_verify("--help")
        self.assertEqual((rc, err), (0, ""))
        text = out.decode()
        for opt in ("--scheme", "--secret-file", "--secret-env", "--id", "--timestamp",
                    "--signature", "--headers", "--log", "--tolerance", "--no-timestamp",
                    "--now", "--url", "--v1a", "--sign", "--help", "--version", "BODY-FILE"):
            self.assertIn(opt, text)

    def test_version(self):
        rc, out, _ = self.run_verify("--version")
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith(b"pca-verify "))


if __name__ == "__main__":
    unittest.main()
