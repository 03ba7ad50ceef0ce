"""Every program under valgrind, and every program's output failing.

- valgrind (--leak-check=full): each program once on its main paths, against
  real servers on 127.0.0.1: no invalid read or write, no use of
  uninitialised memory, no definite or indirect leak.
- Write errors are errors: stdout on /dev/full, and stdout a pipe whose
  reader has gone, give a message naming the program and a non-zero exit
  (74), never a silent death by SIGPIPE.
- Secrets never travel on a command line: while a sender runs, its
  /proc/PID/cmdline holds no secret.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcatest as T  # noqa: E402
import servers as S  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402

EXAMPLES = [raw + b"\n" for raw, _ in T.read_jsonl(T.source_path("examples", "calls.jsonl"))]
TWILIO_OK = (201, {"Content-Type": "application/json"},
             json.dumps({"sid": "SM" + "0" * 32, "status": "queued", "num_segments": "1",
                         "price": None, "error_code": None}).encode())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Queued"


class RuntimeCase(T.TempDirCase):
    def setUp(self):
        super().setUp()
        self.secret = S.new_secret()
        self.whsec = T.write_file(os.path.join(self.tmp, "hook.whsec"), self.secret + "\n", 0o600)
        self.token = T.write_file(os.path.join(self.tmp, "twilio.token"), "tok-s3cr3t-4242\n",
                                  0o600)
        self.hooks = S.Server([204]).start()
        self.sms = S.Server([TWILIO_OK]).start()
        self.port = free_port()
        self.smtp = Controller(Sink(), hostname="127.0.0.1", port=self.port)
        self.smtp.start()
        self.addCleanup(self.hooks.close)
        self.addCleanup(self.sms.close)
        self.addCleanup(self.smtp.stop)

    def smtp_port(self):
        return self.port

    def argv(self, prog):
        """A realistic run of each program against the servers."""
        common = ["--allow-private", "--allow-http"]
        if prog == "pca-render":
            return [T.program(prog), "-f", "email"]
        if prog == "pca-webhook":
            return [T.program(prog), "--url", self.hooks.url("/hook"), "--secret-file",
                    self.whsec, "--spool", os.path.join(self.tmp, "hooks.db")] + common
        if prog == "pca-send-sms":
            return [T.program(prog), "--provider", "twilio", "--account-sid", "AC" + "1" * 32,
                    "--secret-file", self.token, "--to", "+14155550100", "--to",
                    "+14155550101", "--from", "+14155550199", "--base-url",
                    self.sms.url("").rstrip("/")] + common
        if prog == "pca-send-email":
            return [T.program(prog), "--from", "calls@acme.example", "--to",
                    "owner@acme.example", "--bcc", "audit@acme.example", "--smtp",
                    "smtp://127.0.0.1:%d" % self.smtp_port(), "--tls", "none"]
        raise KeyError(prog)


def sanitized():
    """The build under test has AddressSanitizer, which valgrind cannot run."""
    out = subprocess.run(["ldd", T.program("pca-render")], capture_output=True, text=True).stdout
    return "libasan" in out


@unittest.skipIf(sanitized(), "the sanitizer build: valgrind runs in the normal build")
class ValgrindTest(RuntimeCase):
    VALGRIND = ["valgrind", "--quiet", "--leak-check=full", "--errors-for-leak-kinds=definite,"
                "indirect", "--show-leak-kinds=definite,indirect", "--error-exitcode=99",
                "--track-origins=yes"]

    def grind(self, argv, stdin=b"", rc=0):
        got, out, err = T.run(self.VALGRIND + argv, stdin=stdin, env=self.env, cwd=self.tmp,
                              timeout=600)
        self.assertNotEqual(got, 99, "valgrind found errors:\n" + err)
        self.assertEqual(got, rc, err)
        return out, err

    def test_render_every_format_and_a_reject(self):
        for fmt in ("sms", "email", "webhook"):
            self.grind([T.program("pca-render"), "-f", fmt], stdin=b"".join(EXAMPLES[:4]))
        self.grind([T.program("pca-render"), "-f", "sms"], stdin=EXAMPLES[0] + b"[1]\n", rc=65)

    def test_webhook_send_spool_drain_and_verify(self):
        log = os.path.join(self.tmp, "log.jsonl")
        argv = self.argv("pca-webhook")
        self.grind(argv + ["--log", log, "--log-bodies"], stdin=b"".join(EXAMPLES[:3]))
        self.hooks.set_plan([503])
        self.grind(argv + ["--retries", "0"], stdin=EXAMPLES[5], rc=75)
        self.hooks.set_plan([204])
        self.grind(argv + ["--drain", "--now", "2099-01-01T00:00:00Z"])
        self.grind([T.program("pca-webhook"), "--spool", argv[argv.index("--spool") + 1],
                    "--list"])
        self.grind([T.program("pca-verify"), "--secret-file", self.whsec, "--log", log])

    def test_sms(self):
        self.grind(self.argv("pca-send-sms"), stdin=b"".join(EXAMPLES[:3]))

    def test_email(self):
        self.grind(self.argv("pca-send-email"), stdin=b"".join(EXAMPLES[:3]))


class WriteErrorTest(RuntimeCase):
    PROGRAMS = ("pca-render", "pca-webhook", "pca-send-sms", "pca-send-email")

    def test_full_disk(self):
        for prog in self.PROGRAMS:
            with self.subTest(prog=prog), open("/dev/full", "wb") as full:
                rc, _, err = T.run(self.argv(prog), stdin=b"".join(EXAMPLES[:3]), env=self.env,
                                   cwd=self.tmp, stdout=full)
                self.assertEqual(rc, 74, err)
                self.assertRegex(err, "^" + prog + ": writing output failed: No space left")

    def test_verify_on_a_full_disk(self):
        log = os.path.join(self.tmp, "log.jsonl")
        T.run(self.argv("pca-webhook") + ["--log", log, "--log-bodies"], stdin=EXAMPLES[0],
              env=self.env, cwd=self.tmp)
        with open("/dev/full", "wb") as full:
            rc, _, err = T.run([T.program("pca-verify"), "--secret-file", self.whsec, "--log", log],
                               env=self.env, stdout=full)
        self.assertEqual(rc, 74, err)
        self.assertIn("pca-verify:", err)

    def test_reader_gone(self):
        # Enough output that the programs write after the reader has left.
        many = b"".join(EXAMPLES) * 8
        for prog in self.PROGRAMS:
            with self.subTest(prog=prog):
                r, w = os.pipe()
                os.close(r)
                try:
                    rc, _, err = T.run(self.argv(prog), stdin=many, env=self.env, cwd=self.tmp,
                                       stdout=w, timeout=300)
                finally:
                    os.close(w)
                self.assertEqual(rc, 74, "%s: rc %d (a signal is negative): %s" % (prog, rc, err))
                self.assertRegex(err, prog + ": writing output failed: Broken pipe")


class NoSecretOnTheCommandLineTest(RuntimeCase):
    def test_cmdline_while_sending(self):
        # A slow receiver keeps the sender busy while we look at it.
        self.hooks.set_plan(["sleep 1"])
        proc = T.start(self.argv("pca-webhook"), env=self.env, cwd=self.tmp,
                       stdin=subprocess.PIPE)
        try:
            proc.stdin.write(EXAMPLES[0])
            proc.stdin.flush()
            self.hooks.wait_for(1)
            with open("/proc/%d/cmdline" % proc.pid, "rb") as f:
                cmdline = f.read()
            self.assertIn(b"--secret-file", cmdline)
            self.assertNotIn(self.secret.encode(), cmdline)
            self.assertNotIn(self.secret.split("_", 1)[1].encode(), cmdline)
        finally:
            proc.communicate(timeout=60)


if __name__ == "__main__":
    unittest.main()
