"""pca-webhook against real HTTP servers on 127.0.0.1 that the tests start
(tests/cli/servers.py): plain HTTP and TLS with a CA made here, faults
(slow answers, resets, garbage, stalls, refused ports, bad certificates),
retries and Retry-After, 410 and redirects, the spool (journal, drain, dead
items, requeue, resend), SSRF rules, kill -9 halfway through a run and a
drain, output order, secrets, usage and configuration errors, --dry-run.

Every delivery the servers see is checked from outside: the Standard
Webhooks signature is recomputed with Python's hmac (servers.sw_verify), the
body compared with what pca-render prints. Every case also checks that no
record is lost: each input record comes out once, in input order, with its
fields kept (or, for drains, is in the spool).

Environment: PCA_BUILD_DIR, PCA_SOURCE_DIR (set by meson). Debian's
/usr/bin/python3. Only 127.0.0.1 (and ::1 for "localhost") is contacted.
"""
import base64
import collections
import email.utils
import hashlib
import json
import os
import random
import re
import sys
import threading
import time
import unittest
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcatest as T  # noqa: E402
import servers as S  # noqa: E402

WEBHOOK = T.program("pca-webhook")
RENDER = T.program("pca-render")
EXAMPLES_PATH = T.source_path("examples", "calls.jsonl")
EXAMPLES = T.example_records()
EXAMPLES_DATA = T.read_file(EXAMPLES_PATH)
DRY_NOW = "2026-01-02T03:04:05Z"
DRY_NOW_TS = 1767323045

_version = []


def version():
    """The version pca-webhook says it is (for the User-Agent)."""
    if not _version:
        rc, out, _ = T.run([WEBHOOK, "--version"])
        _version.append(out.decode().split("\n")[0].split(" ")[1])
    return _version[0]


def parse_time(s):
    """RFC 3339 -> seconds since the epoch (float)."""
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def utc_ms(s):
    """An RFC 3339 time written in UTC with milliseconds and Z."""
    dt = datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def rfc3339(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def later(seconds):
    """--now for a run that should see the clock `seconds` ahead."""
    return rfc3339(int(time.time() + seconds))


def jsonl(records):
    return b"".join(T.dump_record(r) for r in records)


def body_call_id(req):
    return json.loads(req.body)["data"]["call_id"]


def webhook_entries(rec):
    return [e for e in rec.get("post_call_actions", []) if e.get("type") == "webhook"]


class WebhookCase(T.TempDirCase):
    """Runs pca-webhook, starts servers, and checks what comes out."""

    def setUp(self):
        super().setUp()
        self.secret = S.new_secret()
        self.secrets = [self.secret]
        self.secret_file = T.write_file(self.path("hook.whsec"), self.secret + "\n", 0o600)
        self.spool = self.path("spool.db")
        self.outputs = []

    def tearDown(self):
        # Whatever a test ran, no secret may have been printed.
        for text in self.outputs:
            for s in self.secrets:
                self.assertNotIn(s.encode(), text)
                self.assertNotIn(s[len("whsec_"):].encode(), text)
        super().tearDown()

    # -- running --

    def server(self, plan=None, tls=None, routes=None):
        s = S.Server(plan, tls=tls, routes=routes).start()
        self.addCleanup(s.close)
        self.addCleanup(lambda: self.assertEqual(s.errors, [], "the test server failed"))
        return s

    def webhook(self, *args, stdin=b"", env=None, timeout=180):
        rc, out, err = T.run([WEBHOOK, *args], stdin=stdin, env=env or self.env,
                             timeout=timeout)
        self.outputs += [out, err.encode()]
        return rc, out, err

    def send(self, url, *args, stdin=b"", private=True, http=True, secret_file=None, env=None):
        """pca-webhook --url url --secret-file ... with the usual allowances."""
        argv = ["--url", url, "--secret-file", secret_file or self.secret_file]
        argv += ["--allow-private"] if private else []
        argv += ["--allow-http"] if http else []
        return self.webhook(*argv, *args, stdin=stdin, env=env)

    def count(self, *args):
        rc, out, err = self.webhook("--spool", self.spool, "--count", *args)
        self.assertEqual(rc, 0, err)
        return int(out)

    def listed(self, *args):
        rc, out, err = self.webhook("--spool", self.spool, "--list", *args)
        self.assertEqual(rc, 0, err)
        return out

    def rendered(self, records, config=None, action=None):
        """{call_id: body bytes} as pca-render -f webhook renders them."""
        argv = [RENDER, "-f", "webhook"] + (["-c", config] if config else [])
        argv += ["--action", action] if action else []
        rc, out, err = T.run(argv, stdin=jsonl(records), env=self.env)
        self.assertEqual(rc, 0, err)
        return {r["call_id"]: r["body"].encode("utf-8") for r in T.load_jsonl(out)}

    def rendered_raw(self, record, config=None, action=None):
        argv = [RENDER, "-f", "webhook", "--raw"] + (["-c", config] if config else [])
        argv += ["--action", action] if action else []
        rc, out, err = T.run(argv, stdin=T.dump_record(record), env=self.env)
        self.assertEqual(rc, 0, err)
        return out

    # -- checking --

    def check_records(self, records, out, actions=("webhook",)):
        return T.check_records(self, records, out, actions)

    def entries(self, records, out, action="webhook"):
        return [e[action] for e in self.check_records(records, out, (action,))]

    def check_entry(self, e, status, attempts, code=None, http_status=None, url=None,
                    call_id=None, action="webhook"):
        self.assertEqual(e["type"], "webhook")
        self.assertEqual(e["action_id"], action)
        self.assertEqual(e["status"], status, e)
        self.assertEqual(e["attempts"], attempts, e)
        self.assertEqual(e["provider"], "pca-webhook")
        # The webhook-id, also in entries settled without an attempt.
        if call_id:
            self.assertEqual(e["provider_message_id"], "pca:%s:%s" % (action, call_id))
        if url:
            m = re.match(r"(https?://[^/]+)(/.*)?$", url)
            self.assertEqual(e["target"], m.group(1) + "/" + ("\u2026" if m.group(2) not in
                                                              (None, "/") else ""))
        if code is None:
            self.assertNotIn("error", e)
        else:
            self.assertEqual(e["error"]["code"], code, e)
            self.assertTrue(e["error"]["message"], e)
        if http_status is None:
            self.assertNotIn("http_status", e)
        else:
            self.assertEqual(e["http_status"], http_status, e)
        self.assertEqual("next_attempt_at" in e, status == "spooled", e)
        if status == "succeeded":
            self.assertNotIn("response", e)
        if status != "skipped" and "started_at" in e:
            self.assertLessEqual(parse_time(e["started_at"]), parse_time(e["finished_at"]))

    def check_request(self, req, secrets=None, path="/hook", action="webhook", ts=None,
                      new_id=False):
        """A delivery as the receiver sees it: headers, a valid signature for
        every secret (in order), the payload's shape. Returns the payload."""
        secrets = secrets or self.secrets
        self.assertEqual(req.method, "POST")
        self.assertEqual(req.path, path)
        self.assertEqual(req.header("content-type"), "application/json")
        self.assertEqual(req.header("user-agent"), "pca-webhook/" + version())
        self.assertEqual(req.header("content-length"), str(len(req.body)))
        body = json.loads(req.body)
        self.assertEqual(list(body), ["type", "timestamp", "data"])
        self.assertEqual(body["type"], "call.ended")
        self.assertEqual(body["timestamp"], utc_ms(body["data"]["ended_at"]))
        wid = req.header("webhook-id")
        want = "pca:%s:%s" % (action, body["data"]["call_id"])
        if new_id:
            self.assertRegex(wid, "^" + re.escape(want) + ":[0-9a-f]{12}$")
        else:
            self.assertEqual(wid, want)
        stamp = int(req.header("webhook-timestamp"))
        if ts is None:
            self.assertLessEqual(abs(stamp - req.wall), 2.5, "webhook-timestamp is not now")
        else:
            self.assertEqual(stamp, ts)
        self.assertEqual(S.sw_verify(req, None, secrets), list(range(len(secrets))))
        return body


# ---- the test servers themselves ----


class ServersTest(unittest.TestCase):
    """servers.py, checked with Python's own client, so that a failure in
    the cases below is pca-webhook's, not the fake server's."""

    def test_standard_webhooks_vector(self):
        # Standard Webhooks' published vector (reference/webhooks.md, V1).
        key, msg_id = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek"
        ts = 1614265330
        body = b'{"test": 2432232314}'
        sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        self.assertEqual(S.sw_sign(key, msg_id, ts, body), sig)
        h = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}
        self.assertEqual(S.sw_verify(h, body, [S.new_secret(), key]), [1])
        for bad in (dict(h, **{"webhook-signature": sig[:-2] + "A="}),
                    dict(h, **{"webhook-timestamp": str(ts + 1)})):
            with self.assertRaises(S.SignatureError):
                S.sw_verify(bad, body, [key])
        with self.assertRaises(S.SignatureError):
            S.sw_verify(h, body, [key], now=ts + 301)

    def test_plans_routes_bodies(self):
        import http.client
        with S.Server([500, (201, {"X-A": "1"}, {"ok": True})],
                      routes={"GET /r": ["sleep 0.01"]}) as s:
            c = http.client.HTTPConnection(S.HOST, s.port, timeout=5)
            answers = []
            for _ in range(3):
                c.request("POST", "/p?q=1", body=b"a=1&b=x+y",
                          headers={"Authorization": "Basic " +
                                   base64.b64encode(b"AC1:tok").decode()})
                r = c.getresponse()
                answers.append((r.status, r.getheader("X-A"), r.read()))
            c.request("POST", "/chunked", body=iter([b"ab", b"cd"]),
                      headers={"Transfer-Encoding": "chunked", "Expect": "100-continue"},
                      encode_chunked=True)
            r = c.getresponse()
            r.read()
            c.request("GET", "/r")
            self.assertEqual(c.getresponse().status, 200)
            c.close()
            reqs = s.snapshot()
        self.assertEqual(answers, [(500, None, b""), (201, "1", b'{"ok": true}'),
                                   (201, "1", b'{"ok": true}')])
        self.assertEqual({r.conn_id for r in reqs}, {1})
        self.assertEqual(reqs[0].form(), {"a": ["1"], "b": ["x y"]})
        self.assertEqual(reqs[0].query, {"q": ["1"]})
        self.assertEqual(reqs[0].basic_auth(), ("AC1", "tok"))
        self.assertEqual(reqs[3].body, b"abcd")
        self.assertEqual([r.path for r in reqs], ["/p", "/p", "/p", "/chunked", "/r"])

    def test_faults_and_refused_port(self):
        import http.client
        with S.Server(["reset", "malformed", "sleep 2"]) as s:
            for exc in (ConnectionError, http.client.HTTPException, TimeoutError):
                c = http.client.HTTPConnection(S.HOST, s.port, timeout=0.5)
                c.request("POST", "/", body=b"x")
                with self.assertRaises(exc):
                    c.getresponse()
                c.close()
        with S.RefusedPort() as p:
            with self.assertRaises(ConnectionRefusedError):
                http.client.HTTPConnection(S.HOST, p.port, timeout=2).connect()


# ---- deliveries that work ----


class DeliveryTest(WebhookCase):
    def test_plain_http_every_example(self):
        # One more record whose ended_at has an offset: the payload's
        # timestamp is UTC.
        extra = json.loads(json.dumps(EXAMPLES[0]))
        extra["call_id"] = "call_offset"
        extra["ended_at"] = "2026-03-14T17:23:13.767+02:00"
        records = EXAMPLES + [extra]
        s = self.server([200])
        rc, out, err = self.send(s.url("/hook"), stdin=EXAMPLES_DATA + T.dump_record(extra))
        self.assertEqual((rc, err), (0, ""))
        reqs = s.snapshot()
        self.assertEqual(len(reqs), len(records))
        by_call = {body_call_id(r): r for r in reqs}
        self.assertEqual(set(by_call), {r["call_id"] for r in records})
        self.assertEqual(json.loads(by_call["call_offset"].body)["timestamp"],
                         "2026-03-14T15:23:13.767Z")
        bodies = self.rendered(records)
        # pca-render --raw is one process per record: a few of them.
        for rec in records[:3] + records[-2:]:
            self.assertEqual(self.rendered_raw(rec), bodies[rec["call_id"]])
        for rec, e in zip(records, self.entries(records, out)):
            req = by_call[rec["call_id"]]
            self.check_request(req)
            self.assertEqual(req.body, bodies[rec["call_id"]], rec["call_id"])
            self.check_entry(e, "succeeded", 1, http_status=200, url=s.url("/hook"),
                             call_id=rec["call_id"])
            self.assertEqual(e["provider_message_id"], req.header("webhook-id"))
            self.assertIsInstance(e["latency_ms"], int)

    def test_tls_with_the_test_ca(self):
        certs = S.shared_certs()
        s = self.server([200], tls=certs.server)
        url = s.url("/hook")
        self.assertTrue(url.startswith("https://127.0.0.1:"))
        rc, out, err = self.send(url, "--cacert", certs.ca_cert, stdin=EXAMPLES_DATA, http=False)
        self.assertEqual((rc, err), (0, ""))
        bodies = self.rendered(EXAMPLES)
        reqs = s.snapshot()
        self.assertEqual(len(reqs), len(EXAMPLES))
        for req in reqs:
            self.check_request(req)
            self.assertEqual(req.body, bodies[body_call_id(req)])
        for rec, e in zip(EXAMPLES, self.entries(EXAMPLES, out)):
            self.check_entry(e, "succeeded", 1, http_status=200, url=url, call_id=rec["call_id"])
        self.assertEqual(s.tls_failures, 0)
        # "localhost" is in the certificate too.
        rc, out, err = self.send(s.url("/hook", host="localhost"), "--cacert", certs.ca_cert,
                                 stdin=T.dump_record(EXAMPLES[1]), http=False)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(self.entries(EXAMPLES[1:2], out)[0]["status"], "succeeded")

    def test_two_secrets_two_signatures_newest_first(self):
        new, old = S.new_secret(24), S.new_secret(64)
        self.secrets = [new, old]
        f = T.write_file(self.path("two.whsec"), "%s\n  %s\n" % (new, old), 0o600)
        s = self.server([200])
        rc, out, err = self.send(s.url("/hook"), stdin=T.dump_record(EXAMPLES[2]), secret_file=f)
        self.assertEqual((rc, err), (0, ""))
        (req,) = s.snapshot()
        self.check_request(req, secrets=[new, old])
        ts = req.header("webhook-timestamp")
        self.assertEqual(req.header("webhook-signature"),
                         " ".join(S.sw_sign(k, req.header("webhook-id"), ts, req.body)
                                  for k in (new, old)))
        # Each receiver with only one of the two secrets accepts it too.
        for k in (new, old):
            self.assertIn(S.sw_sign(k, req.header("webhook-id"), ts, req.body),
                          req.header("webhook-signature").split(" "))

    def test_connections_are_reused(self):
        records, data = T.numbered_records(60, "call_reuse")
        s = self.server([200])
        rc, out, err = self.send(s.url("/hook"), "--parallel", "2", stdin=data)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(s.count(), 60)
        self.assertLessEqual(s.connections, 3, "a connection per request instead of reuse")
        per_conn = collections.Counter(r.conn_id for r in s.snapshot())
        self.assertGreaterEqual(max(per_conn.values()), 20)
        for e in self.entries(records, out):
            self.assertEqual(e["status"], "succeeded")

    def test_path_and_query_kept(self):
        s = self.server([204])
        url = s.url("/in/hooks?tenant=a%20b&x=1")
        rc, out, err = self.send(url, stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual((rc, err), (0, ""))
        (req,) = s.snapshot()
        self.assertEqual(req.target, "/in/hooks?tenant=a%20b&x=1")
        self.assertEqual(req.query, {"tenant": ["a b"], "x": ["1"]})
        e = self.entries(EXAMPLES[:1], out)[0]
        self.check_entry(e, "succeeded", 1, http_status=204, url=url)
        self.assertNotIn("tenant", json.dumps(e), "the target is not redacted")


# ---- answers that are not 2xx, and faults ----


class FaultTest(WebhookCase):
    def one(self, plan, *args, record=EXAMPLES[0], tls=None, spool=False):
        """One record against a fresh server: (rc, entry, requests, stderr)."""
        s = self.server(plan, tls=tls)
        extra = ["--spool", self.spool] if spool else []
        rc, out, err = self.send(s.url("/hook"), *args, *extra, stdin=T.dump_record(record))
        (e,) = self.entries([record], out)
        return rc, e, s.snapshot(), err

    def test_500_then_200_is_retried_and_logged(self):
        log = self.path("attempts.log")
        rc, e, reqs, err = self.one([500, 200], "--retries", "1", "--log", log, "--log-bodies")
        self.assertEqual((rc, err), (0, ""))
        self.check_entry(e, "succeeded", 2, http_status=200)
        self.assertEqual(len(reqs), 2)
        for r in reqs:
            self.check_request(r)
        self.assertEqual(reqs[0].header("webhook-id"), reqs[1].header("webhook-id"))
        self.assertGreaterEqual(reqs[1].at - reqs[0].at, 0.75)
        lines = T.load_jsonl(T.read_file(log))
        self.assertEqual(len(lines), 2)
        for n, (line, req) in enumerate(zip(lines, reqs), 1):
            self.assertEqual(line["webhook_id"], req.header("webhook-id"))
            self.assertEqual(str(line["timestamp"]), req.header("webhook-timestamp"))
            self.assertEqual(line["signature"], req.header("webhook-signature"))
            self.assertRegex(line["url"], r"^http://127\.0\.0\.1:[0-9]+/hook$")
            self.assertEqual(line["body_sha256"], hashlib.sha256(req.body).hexdigest())
            self.assertEqual(line["body"].encode("utf-8"), req.body)
            self.assertEqual((line["call_id"], line["action_id"], line["attempt"]),
                             (EXAMPLES[0]["call_id"], "webhook", n))
            self.assertIsInstance(line["latency_ms"], int)
            parse_time(line["at"])
        self.assertEqual((lines[0]["status"], lines[0]["error"]), (500, "http_500"))
        self.assertEqual(lines[1]["status"], 200)
        self.assertNotIn("error", lines[1])

    def test_default_quick_retries_1s_then_4s(self):
        rc, e, reqs, err = self.one([503, 502, 200])
        self.assertEqual(rc, 0, err)
        self.check_entry(e, "succeeded", 3, http_status=200)
        self.assertEqual(len(reqs), 3)
        gaps = [b.at - a.at for a, b in zip(reqs, reqs[1:])]
        self.assertGreaterEqual(gaps[0], 0.75)
        self.assertLess(gaps[0], 2.5)  # 1 s +-20%, and room for a loaded machine
        self.assertGreaterEqual(gaps[1], 3.15)
        self.assertLess(gaps[1], 7.5)
        self.assertEqual(len({r.header("webhook-id") for r in reqs}), 1)
        # Each attempt is signed anew, with its own time. Timestamps are
        # whole seconds, so a 0.8 s gap may keep the second: compare ends.
        ts = [int(r.header("webhook-timestamp")) for r in reqs]
        self.assertEqual(ts, sorted(ts))
        self.assertGreaterEqual(ts[2] - ts[0], 3)

    def test_503_retry_after_seconds(self):
        rc, e, reqs, err = self.one([(503, {"Retry-After": "2"}), 200], "--retries", "1")
        self.assertEqual(rc, 0, err)
        self.check_entry(e, "succeeded", 2, http_status=200)
        self.assertEqual(len(reqs), 2)
        # Longer than the quick delay (1 s +-20%): the server's 2 s counted.
        self.assertGreaterEqual(reqs[1].at - reqs[0].at, 1.95)
        self.assertLess(reqs[1].at - reqs[0].at, 6)
        for r in reqs:
            self.check_request(r)
        # The same id, a fresh timestamp and signature.
        self.assertEqual(reqs[0].header("webhook-id"), reqs[1].header("webhook-id"))
        for name in ("webhook-timestamp", "webhook-signature"):
            self.assertNotEqual(reqs[0].header(name), reqs[1].header(name))

    def test_429_retry_after_http_date(self):
        def plan(req):
            if req.index == 0:
                return (429, {"Retry-After": email.utils.formatdate(int(time.time()) + 3,
                                                                     usegmt=True)})
            return 200
        rc, e, reqs, err = self.one(plan, "--retries", "1")
        self.assertEqual(rc, 0, err)
        self.check_entry(e, "succeeded", 2, http_status=200)
        self.assertEqual(len(reqs), 2)
        self.assertGreaterEqual(reqs[1].at - reqs[0].at, 1.9)
        self.assertLess(reqs[1].at - reqs[0].at, 6)

    def test_long_retry_after_goes_to_the_spool(self):
        plan = [(503, {"Retry-After": "3600"})]
        rc, e, reqs, err = self.one(plan, "--retries", "2", spool=True)
        self.assertEqual(rc, 75, err)
        self.assertEqual(len(reqs), 1, "waited in process for an hour-long Retry-After")
        self.check_entry(e, "spooled", 1, code="http_503", http_status=503)
        # At least the Retry-After, but at most twice the 5-minute step.
        wait = parse_time(e["next_attempt_at"]) - parse_time(e["finished_at"])
        self.assertAlmostEqual(wait, 600, delta=2)
        self.assertEqual(self.count("--status", "pending"), 1)
        # Without a spool: failed, still one request.
        rc, e, reqs, err = self.one(plan, "--retries", "2")
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(reqs), 1)
        self.check_entry(e, "failed", 1, code="http_503", http_status=503)

    def test_410_disables_the_endpoint(self):
        a, b, c = EXAMPLES[0], EXAMPLES[1], EXAMPLES[2]
        s = self.server([410])
        url = s.url("/hook")
        rc, out, err = self.send(url, "--spool", self.spool, "--retries", "2",
                                 stdin=T.dump_record(a))
        self.assertEqual(rc, 1, err)
        (e,) = self.entries([a], out)
        self.check_entry(e, "failed", 1, code="gone", http_status=410, call_id=a["call_id"])
        self.assertEqual(s.count(), 1)
        self.assertEqual(self.count("--status", "dead"), 1)
        # A later run skips the endpoint: nothing reaches it.
        s.set_plan([200])
        rc, out, err = self.send(url, "--spool", self.spool, stdin=T.dump_record(b))
        (e,) = self.entries([b], out)
        self.check_entry(e, "skipped", 0, code="endpoint_disabled", call_id=b["call_id"])
        self.assertEqual(rc, 1, err)  # skipped, but nobody got it: a failure
        self.assertEqual(s.count(), 1)
        # Another endpoint of the same host is not disabled.
        rc, out, err = self.send(s.url("/other"), "--spool", self.spool, stdin=T.dump_record(c))
        self.assertEqual(rc, 0, err)
        self.check_entry(self.entries([c], out)[0], "succeeded", 1, http_status=200)
        self.assertEqual(s.count(), 2)
        # Until the operator enables it again.
        rc, out, err = self.webhook("--spool", self.spool, "--enable-endpoint", url)
        self.assertEqual((rc, out), (0, b""), err)
        rc, out, err = self.send(url, "--spool", self.spool, stdin=T.dump_record(b))
        self.assertEqual(rc, 0, err)
        self.check_entry(self.entries([b], out)[0], "succeeded", 1, http_status=200)
        self.assertEqual(s.count(), 3)

    def test_410_skips_later_records_of_the_same_run(self):
        records = EXAMPLES[:3]
        s = self.server([410])
        rc, out, err = self.send(s.url("/hook"), "--spool", self.spool, "--parallel", "1",
                                 stdin=jsonl(records))
        entries = self.entries(records, out)
        self.check_entry(entries[0], "failed", 1, code="gone", http_status=410)
        self.assertEqual(s.count(), 1, "the endpoint answered 410, then got more requests")
        for e in entries[1:]:
            self.check_entry(e, "skipped", 0, code="endpoint_disabled")

    def test_redirect_is_not_followed(self):
        s = self.server(routes={"/moved": [200]})
        s.route("/hook", [(301, {"Location": s.url("/moved")})])
        rc, out, err = self.send(s.url("/hook"), "--retries", "2", stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 1, err)
        (e,) = self.entries(EXAMPLES[:1], out)
        self.check_entry(e, "failed", 1, code="redirect", http_status=301)
        self.assertEqual([r.path for r in s.snapshot()], ["/hook"])

    def test_400_fails_at_once(self):
        rc, e, reqs, err = self.one([(400, {"Content-Type": "text/plain"}, "no such tenant")],
                                    "--retries", "2", spool=True)
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(reqs), 1)
        self.check_entry(e, "failed", 1, code="http_400", http_status=400)
        self.assertEqual(e["response"], "no such tenant")
        self.assertEqual(self.count("--status", "dead"), 1)

    def test_slower_than_the_timeout_is_retried(self):
        log = self.path("attempts.log")
        rc, e, reqs, err = self.one(["sleep 2.5", 200], "--timeout", "1", "--retries", "1",
                                    "--log", log)
        self.assertEqual(rc, 0, err)
        self.check_entry(e, "succeeded", 2, http_status=200)
        self.assertEqual(len(reqs), 2)
        self.assertNotEqual(reqs[0].conn_id, reqs[1].conn_id)
        lines = T.load_jsonl(T.read_file(log))
        self.assertEqual([x["error"] for x in lines[:1]], ["timeout"])
        self.assertGreaterEqual(lines[0]["latency_ms"], 900)
        self.assertLess(lines[0]["latency_ms"], 2400)
        self.assertNotIn("body", lines[0])

    def test_stalled_body_times_out(self):
        rc, e, reqs, err = self.one([S.Response(200, body=b"0123456789" * 10,
                                                fault="stall_body")],
                                    "--timeout", "1", "--retries", "0")
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(reqs), 1)
        self.check_entry(e, "failed", 1, code="timeout")
        self.assertEqual(e["response"], "0123456789" * 5)

    def test_reset_is_retried(self):
        rc, e, reqs, err = self.one(["reset", 200], "--retries", "1")
        self.assertEqual(rc, 0, err)
        self.check_entry(e, "succeeded", 2, http_status=200)
        self.assertEqual(len(reqs), 2)
        self.check_request(reqs[1])

    def test_reset_after_the_status_line(self):
        # A 200 head whose body never comes is not a delivery; it is temporary.
        rc, e, reqs, err = self.one(["reset_after_headers"], "--retries", "0", spool=True)
        self.assertEqual(rc, 75, err)
        self.assertEqual(len(reqs), 1)
        self.check_entry(e, "spooled", 1, code="reset")

    def test_malformed_answer(self):
        rc, e, reqs, err = self.one(["malformed"], "--retries", "0", spool=True)
        self.assertEqual(rc, 75, err)
        self.assertEqual(len(reqs), 1)
        self.check_entry(e, "spooled", 1, code="protocol")
        rc, e, reqs, err = self.one(["malformed", 200], "--retries", "1")
        self.assertEqual(rc, 0, err)
        self.check_entry(e, "succeeded", 2, http_status=200)

    def test_refused_port(self):
        with S.RefusedPort() as p:
            rec = EXAMPLES[3]
            rc, out, err = self.send(p.url("/hook"), "--retries", "1", stdin=T.dump_record(rec))
            self.assertEqual(rc, 1, err)
            (e,) = self.entries([rec], out)
            self.check_entry(e, "failed", 2, code="connect", url=p.url("/hook"))
            rc, out, err = self.send(p.url("/hook"), "--retries", "0", "--spool", self.spool,
                                     stdin=T.dump_record(rec))
            self.assertEqual(rc, 75, err)
            self.check_entry(self.entries([rec], out)[0], "spooled", 1, code="connect")

    def test_tls_untrusted_ca(self):
        certs = S.shared_certs()
        for cacert in (certs.other_ca_cert, None):
            s = self.server([200], tls=certs.server)
            args = ["--cacert", cacert] if cacert else []
            rc, out, err = self.send(s.url("/hook"), "--retries", "0", *args, http=False,
                                     stdin=T.dump_record(EXAMPLES[0]))
            self.assertEqual(rc, 1, err)
            self.check_entry(self.entries(EXAMPLES[:1], out)[0], "failed", 1, code="tls")
            self.assertEqual(s.count(), 0, "a request went over an unverified connection")

    def test_tls_wrong_host(self):
        certs = S.shared_certs()
        s = self.server([200], tls=certs.wrong_host)
        rc, out, err = self.send(s.url("/hook"), "--retries", "0", "--cacert", certs.ca_cert,
                                 http=False, stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual(rc, 1, err)
        self.check_entry(self.entries(EXAMPLES[:1], out)[0], "failed", 1, code="tls")
        self.assertEqual(s.count(), 0)


# ---- the spool ----


class SpoolTest(WebhookCase):
    def test_spool_cycle(self):
        records = EXAMPLES[:3]
        s = self.server([500])
        url = s.url("/hook")
        before = time.time()
        rc, out, err = self.send(url, "--spool", self.spool, "--retries", "0",
                                 stdin=jsonl(records))
        self.assertEqual(rc, 75, err)
        first = s.snapshot()
        self.assertEqual(len(first), 3)
        ids = {body_call_id(r): r.header("webhook-id") for r in first}
        for rec, e in zip(records, self.entries(records, out)):
            self.check_entry(e, "spooled", 1, code="http_500", http_status=500,
                             call_id=rec["call_id"])
            # The 5-minute step, +-20%.
            wait = parse_time(e["next_attempt_at"]) - parse_time(e["finished_at"])
            self.assertGreaterEqual(wait, 239)
            self.assertLessEqual(wait, 361)
            self.assertGreaterEqual(parse_time(e["finished_at"]), before - 1)
        self.assertEqual(self.count(), 3)
        self.assertEqual(self.count("--status", "pending"), 3)
        self.assertEqual(self.count("--status", "due"), 0)
        self.assertEqual(self.count("--status", "done"), 0)
        listed = self.listed("--status", "pending")
        for rec, e in zip(records, self.entries(records, listed)):
            self.check_entry(e, "spooled", 1, code="http_500", http_status=500,
                             call_id=rec["call_id"])
        self.assertEqual(len(T.load_jsonl(self.listed("--since", "1h"))), 3)
        self.assertEqual(self.listed("--since", later(3600)), b"")

        # Nothing is due yet: a drain sends nothing.
        rc, out, err = self.send(url, "--spool", self.spool, "--drain")
        self.assertEqual((rc, out), (0, b""), err)
        self.assertEqual(s.count(), 3)

        # The receiver is fixed; an hour later the drain delivers all three.
        s.set_plan([200])
        when = later(3600)
        rc, out, err = self.send(url, "--spool", self.spool, "--drain", "--now", when)
        self.assertEqual(rc, 0, err)
        drained = sorted(T.load_jsonl(out), key=lambda r: r["call_id"])
        self.assertEqual([r["call_id"] for r in drained], sorted(ids))
        for rec in drained:
            (e,) = webhook_entries(rec)
            self.check_entry(e, "succeeded", 2, http_status=200, call_id=rec["call_id"])
            self.assertEqual(e["provider_message_id"], ids[rec["call_id"]])
        second = s.snapshot()[3:]
        self.assertEqual(len(second), 3)
        for r in second:
            self.check_request(r, ts=int(parse_time(when)))
            self.assertEqual(r.header("webhook-id"), ids[body_call_id(r)])
        self.assertEqual(self.count("--status", "done"), 3)
        self.assertEqual(self.count("--status", "pending"), 0)

        # A second drain has nothing to do.
        rc, out, err = self.send(url, "--spool", self.spool, "--drain", "--now", later(7200))
        self.assertEqual((rc, out), (0, b""), err)
        self.assertEqual(s.count(), 6)

        # The same input again: already delivered, nothing sent.
        rc, out, err = self.send(url, "--spool", self.spool, stdin=jsonl(records))
        self.assertEqual(rc, 0, err)
        for rec, e in zip(records, self.entries(records, out)):
            self.check_entry(e, "skipped", 2, code="already_delivered", call_id=rec["call_id"])
        self.assertEqual(s.count(), 6)

        # --resend: again, with the same id.
        rc, out, err = self.send(url, "--spool", self.spool, "--resend",
                                 stdin=T.dump_record(records[0]))
        self.assertEqual(rc, 0, err)
        (e,) = self.entries(records[:1], out)
        self.assertEqual((e["status"], e["provider_message_id"]),
                         ("succeeded", ids[records[0]["call_id"]]))
        (r,) = s.snapshot()[6:]
        self.check_request(r)
        self.assertEqual(r.header("webhook-id"), ids[records[0]["call_id"]])

        # --new-id: again, with a fresh id (twice: two different ids).
        fresh = []
        for _ in range(2):
            rc, out, err = self.send(url, "--spool", self.spool, "--new-id",
                                     stdin=T.dump_record(records[0]))
            self.assertEqual(rc, 0, err)
            (e,) = self.entries(records[:1], out)
            r = s.snapshot()[-1]
            self.check_request(r, new_id=True)
            self.assertEqual(e["provider_message_id"], r.header("webhook-id"))
            self.check_entry(e, "succeeded", 1, http_status=200)
            fresh.append(r.header("webhook-id"))
        self.assertNotEqual(fresh[0], fresh[1])
        self.assertEqual(s.count(), 9)

    def test_dead_after_the_schedule_then_requeue(self):
        rec = EXAMPLES[4]
        s = self.server([503])
        url = s.url("/hook")
        rc, out, err = self.send(url, "--spool", self.spool, "--retries", "0",
                                 stdin=T.dump_record(rec))
        self.assertEqual(rc, 75, err)
        # Each drain makes one attempt; the schedule has 8 steps after the
        # first run's 3 attempts: the 11th attempt is the last.
        start = time.time()
        dead_at = None
        for day in range(1, 13):
            when = rfc3339(start + day * 3 * 86400)
            rc, out, err = self.send(url, "--spool", self.spool, "--drain", "--now", when)
            if out:
                self.assertIsNone(dead_at, "a dead item was drained again")
                dead_at = day
                self.assertEqual(rc, 1, err)
                (e,) = self.entries([rec], out)
                self.check_entry(e, "failed", 11, code="http_503", http_status=503)
            else:
                self.assertEqual(rc, 75 if dead_at is None else 0, err)
        self.assertEqual(dead_at, 10)
        self.assertEqual(s.count(), 11)
        for r in s.snapshot():
            self.assertEqual(r.header("webhook-id"), "pca:webhook:" + rec["call_id"])
        self.assertEqual(self.count("--status", "dead"), 1)
        # The same record again: it is dead, nothing is sent.
        rc, out, err = self.send(url, "--spool", self.spool, stdin=T.dump_record(rec))
        self.assertEqual(rc, 1, err)
        self.check_entry(self.entries([rec], out)[0], "failed", 11, code="dead")
        self.assertEqual(s.count(), 11)
        # The operator requeues it after the outage; a drain delivers it.
        when = rfc3339(start + 40 * 86400)
        rc, out, err = self.webhook("--spool", self.spool, "--requeue", "--status", "dead",
                                    "--now", when)
        self.assertEqual((rc, out), (0, b""), err)
        self.assertIn("1 item due now", err)
        self.assertEqual(self.count("--status", "due", "--now", when), 1)
        s.set_plan([200])
        rc, out, err = self.send(url, "--spool", self.spool, "--drain", "--now", when)
        self.assertEqual(rc, 0, err)
        (e,) = self.entries([rec], out)
        self.check_entry(e, "succeeded", 12, http_status=200, call_id=rec["call_id"])
        self.assertEqual(s.count(), 12)
        self.assertEqual(self.count("--status", "done"), 1)
        self.assertEqual(self.count("--status", "dead"), 0)


# ---- where webhooks may go ----


class SsrfTest(WebhookCase):
    def test_loopback_refused_without_allow_private(self):
        s = self.server([200])
        for host in ("127.0.0.1", "localhost"):
            rc, out, err = self.send(s.url("/hook", host=host), "--retries", "2",
                                     "--spool", self.spool, private=False,
                                     stdin=T.dump_record(EXAMPLES[0]))
            self.assertEqual(rc, 1, err)
            (e,) = self.entries(EXAMPLES[:1], out)
            # Refused: a rule, not bad luck, so not retried nor spooled.
            self.check_entry(e, "failed", 1, code="blocked_ip")
            self.assertEqual((s.count(), s.connections), (0, 0), host)
            os.unlink(self.spool)

    def test_allow_private(self):
        s = self.server([200])
        for host in ("127.0.0.1", "localhost"):
            rc, out, err = self.send(s.url("/hook", host=host), stdin=T.dump_record(EXAMPLES[0]))
            self.assertEqual(rc, 0, err)
            self.check_entry(self.entries(EXAMPLES[:1], out)[0], "succeeded", 1, http_status=200)
        self.assertEqual(s.count(), 2)

    def config(self, url, networks):
        text = ("allow_http: true\n"
                "allow_networks: [%s]\n"
                "actions:\n"
                "  - id: crm\n"
                "    type: webhook\n"
                "    url: %s\n"
                "    secret_file: %s\n") % (", ".join(networks), url, self.secret_file)
        return T.write_config(self.tmp, text, name="net-%d.yaml" % len(networks))

    def test_allow_networks_in_the_config(self):
        s = self.server([200])
        rec = EXAMPLES[5]
        cfg = self.config(s.url("/crm"), ["127.0.0.0/8"])
        rc, out, err = self.webhook("-c", cfg, stdin=T.dump_record(rec))
        self.assertEqual(rc, 0, err)
        (e,) = self.entries([rec], out, action="crm")
        self.check_entry(e, "succeeded", 1, http_status=200, action="crm",
                         call_id=rec["call_id"])
        (req,) = s.snapshot()
        self.check_request(req, path="/crm", action="crm")
        # Another network allowed: loopback is still refused.
        cfg = self.config(s.url("/crm"), ["10.0.0.0/8", "fd00::/8"])
        rc, out, err = self.webhook("-c", cfg, stdin=T.dump_record(rec))
        self.assertEqual(rc, 1, err)
        self.check_entry(self.entries([rec], out, action="crm")[0], "failed", 1,
                         code="blocked_ip", action="crm")
        self.assertEqual(s.count(), 1)

    def test_http_needs_allow_http(self):
        s = self.server([200])
        rc, out, err = self.send(s.url("/hook"), http=False, stdin=T.dump_record(EXAMPLES[0]))
        self.assertEqual((rc, out), (78, b""))
        self.assertIn("http", err)
        self.assertEqual(s.connections, 0)


# ---- kill -9 halfway ----


class CrashTest(WebhookCase):
    N = T.scale(1000, 200)  # 1,000 in the normal build

    def kill_when(self, proc, server, n):
        """SIGKILL proc once the server has seen n requests (more since now)."""
        start = server.count()
        self.assertTrue(server.wait_for(start + n, 60), "the run never got going")
        self.assertIsNone(proc.poll(), "the run finished before it could be killed")
        proc.kill()
        proc.wait()
        self.outputs.append(proc.stderr.read())
        proc.stderr.close()
        time.sleep(0.1)  # let the server read what was in flight

    def check_delivered(self, server, records):
        """Every call reached the server at least once; every request is
        signed, and carries its call's one webhook-id."""
        reqs = server.snapshot()
        seen = collections.Counter()
        for r in reqs:
            cid = body_call_id(r)
            self.assertEqual(r.header("webhook-id"), "pca:webhook:" + cid)
            self.assertEqual(S.sw_verify(r, None, self.secrets), [0])
            seen[cid] += 1
        self.assertEqual(set(seen), {r["call_id"] for r in records}, "a call was never delivered")
        return sum(seen.values()) - len(seen)

    def test_kill_during_a_run(self):
        records, data = T.numbered_records(self.N, "call_crash")
        inp = T.write_file(self.path("in.jsonl"), data)
        s = self.server(lambda req: S.Response(200, delay=0.02))
        url = s.url("/hook")
        argv = [WEBHOOK, "--url", url, "--secret-file", self.secret_file, "--allow-http",
                "--allow-private", "--spool", self.spool, "--timeout", "10", "--retries", "1"]
        with open(self.path("out1"), "wb") as out1:
            p = T.start(argv + [inp], env=self.env, stdout=out1)
            self.kill_when(p, s, 150)
        first = s.count()
        self.assertLess(first, self.N)
        # What the killed run printed before dying was delivered.
        for line in T.read_file(self.path("out1")).split(b"\n")[:-1]:
            self.assertEqual(webhook_entries(json.loads(line))[0]["status"], "succeeded")

        # The same input again: the finished are skipped, the journaled
        # (leased by the dead run) reported spooled, the rest sent.
        s.set_plan([200])
        rc, out, err = self.send(url, "--spool", self.spool, inp)
        self.assertEqual(rc, 75, err)
        entries = self.entries(records, out)
        status = collections.Counter(e["status"] for e in entries)
        self.assertEqual(set(status) - {"skipped", "spooled", "succeeded"}, set(), status)
        self.assertGreater(status["spooled"], 0)
        skipped = {r["call_id"] for r, e in zip(records, entries) if e["status"] == "skipped"}
        sent_before = {body_call_id(r) for r in s.snapshot()[:first]}
        self.assertLessEqual(skipped, sent_before, "skipped as delivered, but never sent")
        spooled = {r["call_id"] for r, e in zip(records, entries) if e["status"] == "spooled"}

        # Past the dead run's leases, a drain sends what it had in hand.
        rc, out, err = self.send(url, "--spool", self.spool, "--drain", "--now", later(86400),
                                 "--parallel", "64")
        self.assertEqual(rc, 0, err)
        drained = T.load_jsonl(out)
        self.assertEqual(sorted(r["call_id"] for r in drained), sorted(spooled))
        for r in drained:
            self.assertEqual(webhook_entries(r)[0]["status"], "succeeded")
        dups = self.check_delivered(s, records)
        self.assertLessEqual(dups, 200, "far more duplicates than deliveries in flight")
        self.assertEqual(self.count(), self.N)
        self.assertEqual(self.count("--status", "done"), self.N)

    def test_kill_during_a_drain(self):
        records, data = T.numbered_records(self.N, "call_drain")
        inp = T.write_file(self.path("in.jsonl"), data)
        s = self.server([503])
        url = s.url("/hook")
        rc, out, err = self.send(url, "--spool", self.spool, "--retries", "0", inp)
        self.assertEqual(rc, 75, err)
        for e in self.entries(records, out):
            self.assertEqual(e["status"], "spooled")
        self.assertEqual(self.count("--status", "pending"), self.N)
        spooled_phase = s.count()
        s.set_plan(lambda req: S.Response(200, delay=0.02))
        t1 = time.time() + 3600
        argv = [WEBHOOK, "--url", url, "--secret-file", self.secret_file, "--allow-http",
                "--allow-private", "--spool", self.spool, "--drain", "--now", rfc3339(t1)]
        with open(self.path("out1"), "wb") as out1:
            p = T.start(argv, env=self.env, stdout=out1)
            self.kill_when(p, s, 150)
        done = self.count("--status", "done")
        self.assertLess(done, self.N)
        s.set_plan([200])
        rc, out, err = self.send(url, "--spool", self.spool, "--drain", "--now",
                                 rfc3339(t1 + 86400), "--parallel", "64")
        self.assertEqual(rc, 0, err)
        drained = T.load_jsonl(out)
        self.assertEqual(len(drained), self.N - done)
        self.assertEqual(len({r["call_id"] for r in drained}), len(drained))
        for r in drained:
            self.assertEqual(webhook_entries(r)[0]["status"], "succeeded")
        self.assertEqual(self.count("--status", "done"), self.N)
        # Every call reached the server again after the spooling run.
        drain_reqs = s.snapshot()[spooled_phase:]
        self.assertEqual({body_call_id(r) for r in drain_reqs}, {r["call_id"] for r in records})
        self.check_delivered(s, records)


# ---- output order, secrets, errors, --dry-run ----


class OrderTest(WebhookCase):
    def test_parallel_output_in_input_order(self):
        records, data = T.numbered_records(48, "call_order")
        rnd = random.Random(20261128)
        lock = threading.Lock()
        finish = {}

        def plan(req):
            with lock:
                d = rnd.uniform(0, 0.08)
            finish[body_call_id(req)] = req.at + d
            return S.Response(200, delay=d)
        s = self.server(plan)
        rc, out, err = self.send(s.url("/hook"), "--parallel", "16", stdin=data)
        self.assertEqual((rc, err), (0, ""))
        for e in self.entries(records, out):
            self.assertEqual(e["status"], "succeeded")
        # The answers did come in another order.
        order = sorted(finish, key=finish.get)
        self.assertNotEqual(order, [r["call_id"] for r in records])


class SecretTest(WebhookCase):
    def test_secret_never_shown(self):
        key = S.secret_key(self.secret)
        log = self.path("attempts.log")
        s = self.server([500])
        url = s.url("/hook")
        common = ["--spool", self.spool, "--log", log, "--log-bodies", "-v"]
        self.send(url, *common, "--retries", "0", stdin=EXAMPLES_DATA)
        s.set_plan([200])
        self.send(url, *common, "--drain", "--now", later(3600))
        self.send(url, *common, "--new-id", stdin=T.dump_record(EXAMPLES[0]))
        self.listed()
        self.send(url, "--dry-run", stdin=T.dump_record(EXAMPLES[0]))
        env = T.clean_env(self.tmp, PCA_HOOK_SECRET=self.secret)
        self.webhook("--url", url, "--secret-env", "PCA_HOOK_SECRET", "--allow-http",
                     "--allow-private", "-v", stdin=T.dump_record(EXAMPLES[1]), env=env)
        self.assertEqual(s.count(), 2 * len(EXAMPLES) + 2)
        files = [log] + [self.spool + x for x in ("", "-wal", "-shm", "-journal")
                         if os.path.exists(self.spool + x)]
        self.assertGreater(len(T.read_file(log)), 1000)
        self.assertGreater(len(T.read_file(self.spool)), 1000)
        texts = self.outputs + [T.read_file(f) for f in files]
        for text in texts:
            for needle in (self.secret.encode(), self.secret[6:].encode(), key, key.hex().encode(),
                           base64.b64encode(key).rstrip(b"=")):
                self.assertNotIn(needle, text)


class UsageTest(WebhookCase):
    def setUp(self):
        super().setUp()
        self.s = self.server([200])
        self.url = self.s.url("/hook")
        self.rec = T.dump_record(EXAMPLES[0])

    def tearDown(self):
        self.assertEqual(self.s.connections, 0, "something was sent")
        super().tearDown()

    def usage(self, *args, rc=2, says=""):
        got, out, err = self.webhook(*args, stdin=self.rec)
        self.assertEqual((got, out), (rc, b""), err)
        self.assertIn(says, err)
        return err

    def test_url_without_secret(self):
        self.usage("--url", self.url, "--allow-http", "--allow-private", says="--secret-file")

    def test_both_secret_file_and_env(self):
        self.usage("--url", self.url, "--secret-file", self.secret_file, "--secret-env", "X",
                   "--allow-http", "--allow-private", says="--secret-env")

    def test_url_and_config(self):
        self.usage("--url", self.url, "-c", self.path("none.yaml"), "--secret-file",
                   self.secret_file, says="not both")

    def test_bad_numbers_and_options(self):
        base = ["--url", self.url, "--secret-file", self.secret_file]
        self.usage(*base, "--retries", "x", says="--retries")
        self.usage(*base, "--timeout", "0", says="--timeout")
        self.usage(*base, "--parallel", "0", says="--parallel")
        self.usage(*base, "--log-bodies", says="--log")
        self.usage(*base, "--no-such-option")
        self.usage("--drain", "--list", "--spool", self.spool, says="exclude")

    def test_missing_secret_file(self):
        missing = self.path("no-such.whsec")
        err = self.usage("--url", self.url, "--secret-file", missing, "--allow-http",
                         "--allow-private", rc=78)
        self.assertIn(missing, err)

    def test_short_secret(self):
        f = T.write_file(self.path("short.whsec"), S.new_secret(16) + "\n", 0o600)
        err = self.usage("--url", self.url, "--secret-file", f, "--allow-http", "--allow-private",
                         rc=78)
        self.assertIn("16 bytes", err)

    def test_secret_not_base64(self):
        for text in ("whsec_not*base64!!\n", "whsec_\n", "not-a-whsec-secret-at-all-0123456789\n",
                     "\n"):
            f = T.write_file(self.path("bad.whsec"), text, 0o600)
            self.usage("--url", self.url, "--secret-file", f, "--allow-http", "--allow-private",
                       rc=78)

    def test_unset_secret_env(self):
        env = T.clean_env(self.tmp, PCA_NO_SUCH_SECRET=None)
        rc, out, err = self.webhook("--url", self.url, "--secret-env", "PCA_NO_SUCH_SECRET",
                                    "--allow-http", "--allow-private", stdin=self.rec, env=env)
        self.assertEqual((rc, out), (78, b""))
        self.assertIn("PCA_NO_SUCH_SECRET", err)

    def test_no_configuration(self):
        self.usage(rc=78, says="configuration")


class DryRunTest(WebhookCase):
    @staticmethod
    def parse(dump):
        """The requests of a --dry-run: (request line, Headers, body)."""
        reqs, pos = [], 0
        while pos < len(dump):
            end = dump.index(b"\r\n\r\n", pos)
            lines = dump[pos:end].decode("utf-8").split("\r\n")
            headers = S.Headers((k.strip(), v.strip()) for k, _, v in
                                (line.partition(":") for line in lines[1:]))
            n = int(headers["content-length"])
            body = dump[end + 4:end + 4 + n]
            if dump[end + 4 + n:end + 5 + n] != b"\n":
                raise AssertionError("no newline after request %d" % len(reqs))
            reqs.append((lines[0], headers, body))
            pos = end + 5 + n
        return reqs

    def test_reproducible_and_signed(self):
        records = EXAMPLES[:5]
        s = self.server([200])
        url = s.url("/in/hook")
        runs = []
        for _ in range(2):
            rc, out, err = self.send(url, "--dry-run", "--now", DRY_NOW, "--spool", self.spool,
                                     stdin=jsonl(records))
            self.assertEqual((rc, err), (0, ""))
            runs.append(out)
        self.assertEqual(runs[0], runs[1])
        self.assertEqual((s.connections, os.path.exists(self.spool)), (0, False),
                         "a dry run sent or journaled something")
        reqs = self.parse(runs[0])
        self.assertEqual(len(reqs), len(records))
        bodies = self.rendered(records)
        for rec, (line, h, body) in zip(records, reqs):
            self.assertEqual(line, "POST /in/hook HTTP/1.1")
            self.assertEqual(h["host"], "127.0.0.1:%d" % s.port)
            self.assertEqual(h["content-type"], "application/json")
            self.assertEqual(h["user-agent"], "pca-webhook/" + version())
            self.assertEqual(h["webhook-id"], "pca:webhook:" + rec["call_id"])
            self.assertEqual(h["webhook-timestamp"], str(DRY_NOW_TS))
            self.assertEqual(S.sw_verify(h, body, self.secrets, now=DRY_NOW_TS), [0])
            self.assertEqual(body, bodies[rec["call_id"]])
        # What a real delivery carries is what the dry run showed.
        rc, out, err = self.send(url, stdin=T.dump_record(records[0]))
        self.assertEqual(rc, 0, err)
        (real,) = s.snapshot()
        self.assertEqual(real.body, reqs[0][2])
        for name in ("webhook-id", "content-type", "user-agent", "content-length", "host"):
            self.assertEqual(real.header(name), reqs[0][1][name], name)


class ExitStatusTest(WebhookCase):
    def test_rejected_failed_spooled(self):
        fail, spool = EXAMPLES[6], EXAMPLES[7]
        s = self.server(lambda req: 400 if body_call_id(req) == fail["call_id"] else 503)
        url = s.url("/hook")
        rejects = self.path("rejects.txt")
        args = ["--spool", self.spool, "--retries", "0"]
        garbage = b"this is not a record\n"
        rc, out, err = self.send(url, *args, "--rejects", rejects,
                                 stdin=T.dump_record(fail) + garbage + T.dump_record(spool))
        self.assertEqual(rc, 65, err)
        self.assertEqual(T.read_file(rejects), garbage)
        entries = self.entries([fail, spool], out)
        self.check_entry(entries[0], "failed", 1, code="http_400", http_status=400)
        self.check_entry(entries[1], "spooled", 1, code="http_503", http_status=503)
        # Failed beats spooled; a spooled pending item is reported spooled, unsent.
        rc, out, err = self.send(url, *args, stdin=T.dump_record(EXAMPLES[8]) +
                                 T.dump_record(spool) + T.dump_record(EXAMPLES[9]))
        self.assertEqual(rc, 75, err)
        entries = self.entries([EXAMPLES[8], spool, EXAMPLES[9]], out)
        self.assertEqual([e["status"] for e in entries], ["spooled"] * 3)
        self.assertEqual(s.count(), 4)
        rc, out, err = self.send(url, *args, "--new-id", stdin=T.dump_record(fail) +
                                 T.dump_record(EXAMPLES[10]))
        self.assertEqual(rc, 1, err)
        # Rejected lines go to stderr by default, with their line number.
        rc, out, err = self.send(url, "--dry-run", stdin=garbage + T.dump_record(fail))
        self.assertEqual(rc, 65)
        self.assertIn(":1:", err)


class ConfigActionsTest(WebhookCase):
    def test_two_webhook_actions(self):
        s = self.server([200])
        audit = [S.new_secret(), S.new_secret()]
        self.secrets += audit
        audit_file = T.write_file(self.path("audit.whsec"), " ".join(audit) + "\n", 0o600)
        cfg = T.write_config(self.tmp, (
            "allow_http: true\n"
            "allow_networks: [127.0.0.0/8]\n"
            "actions:\n"
            "  - id: crm\n"
            "    type: webhook\n"
            "    url: %s\n"
            "    secret_file: %s\n"
            "  - id: audit\n"
            "    type: webhook\n"
            "    url: %s\n"
            "    secret_file: %s\n"
            "    timeout: 5s\n") % (s.url("/crm"), self.secret_file, s.url("/audit"), audit_file))
        records = EXAMPLES[:4]
        rc, out, err = self.webhook("-c", cfg, stdin=jsonl(records))
        self.assertEqual((rc, err), (0, ""))
        for rec, got in zip(records, self.check_records(records, out, ("crm", "audit"))):
            for action in ("crm", "audit"):
                self.check_entry(got[action], "succeeded", 1, http_status=200, action=action,
                                 call_id=rec["call_id"])
        reqs = s.snapshot()
        self.assertEqual(len(reqs), 8)
        raw = self.rendered_raw(records[3], config=cfg, action="crm")
        for r in reqs:
            action = r.path[1:]
            self.check_request(r, secrets=[self.secret] if action == "crm" else audit,
                               path=r.path, action=action)
            if body_call_id(r) == records[3]["call_id"]:
                self.assertEqual(r.body, raw)
        # --action: only that one.
        rc, out, err = self.webhook("-c", cfg, "--action", "audit", stdin=jsonl(records[:1]))
        self.assertEqual(rc, 0, err)
        self.check_records(records[:1], out, ("audit",))
        self.assertEqual(s.snapshot()[-1].path, "/audit")
        self.assertEqual(s.count(), 9)
        rc, out, err = self.webhook("-c", cfg, "--action", "nope", stdin=jsonl(records[:1]))
        self.assertEqual((rc, out), (78, b""))


if __name__ == "__main__":
    unittest.main()
