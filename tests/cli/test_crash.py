"""Crashes and concurrency of the senders, with real servers on 127.0.0.1.

kill -9 at a random moment (chosen by a seed this prints; PCA_TEST_SEED
repeats a run) during a spooled run of each sending program; then, as cron
would, the same input again and a drain once the killed run's leases are
over. Afterwards every delivery has arrived at least once, and a delivery
that arrived twice arrived twice the same: the same webhook-id and body, the
same Message-ID, the same text to the same number.

Two drains started at the same moment on one spool never send one item
twice.
"""
import asyncio
import collections
import email
import email.policy
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcatest as T  # noqa: E402
import servers as S  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402

SEED = int(os.environ.get("PCA_TEST_SEED", random.randrange(1 << 30)))
print("crash tests: seed %d (PCA_TEST_SEED=%d repeats them)" % (SEED, SEED), flush=True)
RUNS = {"webhook": T.scale(8, 2), "sms": T.scale(6, 2), "email": T.scale(6, 2)}
N = T.scale(80, 30)
LATER = "2099-01-01T00:00:00Z"  # a drain then sees every lease over
TWILIO_OK = (201, {"Content-Type": "application/json"},
             json.dumps({"sid": "SM" + "1" * 32, "status": "queued", "num_segments": "1",
                         "price": None, "error_code": None}).encode())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An SMTP server that keeps every message, a little slowly."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.05)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((msg["X-PCA-Call-ID"], rcpt, msg["Message-ID"],
                                      envelope.content))
        return "250 2.0.0 Queued"


class CrashTest(T.TempDirCase):
    def setUp(self):
        super().setUp()
        self.rng = random.Random(SEED)
        self.records, self.input = T.numbered_records(N, "call_crash")
        self.kills = []
        self.secret = T.write_file(os.path.join(self.tmp, "s.whsec"), S.new_secret() + "\n",
                                   0o600)
        self.token = T.write_file(os.path.join(self.tmp, "t.token"), "tok-crash\n", 0o600)

    def server(self, plan):
        s = S.Server(plan).start()
        self.addCleanup(s.close)
        return s

    def sender(self, channel, target, spool):
        common = ["--spool", spool, "--parallel", "8", "--retries", "0", "--timeout", "5"]
        if channel == "webhook":
            return [T.program("pca-webhook"), "--url", target.url("/h"), "--secret-file",
                    self.secret, "--allow-private", "--allow-http"] + common
        if channel == "sms":
            return [T.program("pca-send-sms"), "--provider", "twilio", "--account-sid",
                    "AC" + "2" * 32, "--secret-file", self.token, "--from", "+14155550199",
                    "--to", "+14155550100", "--to", "+14155550101", "--base-url",
                    target.url("").rstrip("/"), "--allow-private", "--allow-http"] + common
        return [T.program("pca-send-email"), "--from", "calls@acme.example", "--to",
                "owner@acme.example", "--bcc", "audit@acme.example", "--smtp",
                "smtp://127.0.0.1:%d" % target, "--tls", "none"] + common

    def kill_then_recover(self, argv):
        """Run, kill -9 after a random moment, run the input again, drain."""
        path = T.write_file(os.path.join(self.tmp, "calls.jsonl"), self.input)
        proc = T.start(argv + [path], env=self.env, cwd=self.tmp)
        wait = self.rng.uniform(0.05, 0.8)
        time.sleep(wait)
        running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        self.kills.append(running)
        rc, _, err = T.run(argv, stdin=self.input, env=self.env, cwd=self.tmp, timeout=300)
        self.assertIn(rc, (0, 75), err)
        rc, _, err = T.run(argv + ["--drain", "--now", LATER], env=self.env, cwd=self.tmp,
                           timeout=300)
        self.assertEqual(rc, 0, err)
        return wait

    def tearDown(self):
        # Most kills must land mid-run, or the test proves little.
        if self.kills:
            self.assertGreaterEqual(sum(self.kills), len(self.kills) / 2,
                                    "the runs ended before the kill: make them slower")
        super().tearDown()

    def test_webhook(self):
        for run in range(RUNS["webhook"]):
            s = self.server(lambda req: S.Response(204, delay=0.1))
            spool = os.path.join(self.tmp, "w%d.db" % run)
            wait = self.kill_then_recover(self.sender("webhook", s, spool))
            seen = collections.defaultdict(set)
            for r in s.snapshot():
                seen[r.header("webhook-id")].add(r.body)
            with self.subTest(run=run, killed_after=round(wait, 3)):
                want = {"pca:webhook:" + r["call_id"] for r in self.records}
                self.assertEqual(set(seen), want, "a record was never delivered")
                self.assertTrue(all(len(b) == 1 for b in seen.values()),
                                "a webhook-id was sent with two different bodies")

    def test_sms(self):
        texts = {self.sms_text(r) for r in self.records}
        for run in range(RUNS["sms"]):
            s = self.server(lambda req: S.Response(*TWILIO_OK, delay=0.05))
            spool = os.path.join(self.tmp, "s%d.db" % run)
            wait = self.kill_then_recover(self.sender("sms", s, spool))
            got = collections.defaultdict(set)
            for r in s.snapshot():
                form = r.form()
                got[form["To"][0]].add(form["Body"][0])
            with self.subTest(run=run, killed_after=round(wait, 3)):
                for number in ("+14155550100", "+14155550101"):
                    self.assertEqual(got[number], texts, "a text never reached " + number)

    def sms_text(self, rec):
        rc, out, err = T.run([T.program("pca-render"), "-f", "sms", "--raw"],
                             stdin=T.dump_record(rec), env=self.env)
        return out.decode()

    def test_email(self):
        for run in range(RUNS["email"]):
            box, port = Mailbox(), free_port()
            c = Controller(box, hostname="127.0.0.1", port=port)
            c.start()
            try:
                spool = os.path.join(self.tmp, "e%d.db" % run)
                wait = self.kill_then_recover(self.sender("email", port, spool))
            finally:
                c.stop()
            ids = collections.defaultdict(set)
            for call, rcpt, msgid, _ in box.messages:
                ids[(call, rcpt)].add(msgid)
            with self.subTest(run=run, killed_after=round(wait, 3)):
                want = {(r["call_id"], a) for r in self.records
                        for a in ("owner@acme.example", "audit@acme.example")}
                self.assertEqual(set(ids), want, "a message never reached a recipient")
                self.assertTrue(all(len(m) == 1 for m in ids.values()),
                                "a duplicate came with another Message-ID")


class ConcurrentDrainTest(T.TempDirCase):
    def test_two_drains_never_share_an_item(self):
        secret = T.write_file(os.path.join(self.tmp, "s.whsec"), S.new_secret() + "\n", 0o600)
        spool = os.path.join(self.tmp, "spool.db")
        records, data = T.numbered_records(T.scale(300, 60), "call_drain")
        s = S.Server([503]).start()
        self.addCleanup(s.close)
        argv = [T.program("pca-webhook"), "--url", s.url("/h"), "--secret-file", secret,
                "--allow-private", "--allow-http", "--spool", spool, "--retries", "0"]
        rc, _, err = T.run(argv, stdin=data, env=self.env, cwd=self.tmp)
        self.assertEqual(rc, 75, err)
        s.set_plan(lambda req: S.Response(204, delay=0.005))
        s.clear()
        drains = [T.start(argv + ["--drain", "--now", LATER, "--parallel", "4"], env=self.env,
                          cwd=self.tmp) for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in drains]
        self.assertEqual([p.returncode for p in drains], [0, 0], [e[-2000:] for _, e in outs])
        ids = collections.Counter(r.header("webhook-id") for r in s.snapshot())
        self.assertEqual(len(ids), len(records), "every item was drained")
        self.assertEqual(max(ids.values()), 1, "an item was sent by both drains")
        printed = [json.loads(l) for o, _ in outs for l in o.splitlines()]
        self.assertEqual(len(printed), len(records), "each finished record printed once")


if __name__ == "__main__":
    unittest.main()
