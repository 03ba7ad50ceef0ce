"""Every program under valgrind, and every program's output failing.

- valgrind (--leak-check=full): each program once on its main paths, against
  real servers on 127.0.0.1: no invalid read or write, no use of
  uninitialised memory, no definite or indirect leak.
- Write errors are errors: stdout on /dev/full, and stdout a pipe whose
  reader has gone, give a message naming the program and a non-zero exit
  (74), never a silent death by SIGPIPE.
- Secrets never travel on a command line: while a sender runs, its
  /proc/PID/cmdline holds no secret.
- Progress: with stderr on a terminal (a pty) each sender keeps one line of
  counts up to date there, and ends with the totals; never on stdout, never
  when stderr is not a terminal, never with --quiet; messages get lines of
  their own.
"""
import json
import os
import pty
import select
import shutil
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


def screen(raw):
    """The lines a terminal would show for raw: \\r goes back to the start
    of the line, ESC [ K erases to its end."""
    lines, cur, col = [], [], 0
    i = 0
    while i < len(raw):
        if raw.startswith("\x1b[K", i):
            del cur[col:]
            i += 3
            continue
        ch = raw[i]
        i += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("".join(cur))
            cur, col = [], 0
        else:
            cur[col:col + 1] = [ch]
            col += 1
    if cur:
        lines.append("".join(cur))
    return lines


class ProgressTest(RuntimeCase):
    def on_a_terminal(self, argv, stdin, env=None):
        """Run with stdout a pipe and stderr a pty: (rc, stdout, what the
        terminal got)."""
        master, slave = pty.openpty()
        env = dict(env or self.env)
        env.setdefault("TERM", "xterm")
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave,
                             env=env, cwd=self.tmp)
        os.close(slave)
        # stdout and stdin in threads, or a full pipe would stop the program
        # while this reads the terminal.
        got = {}
        reader = threading.Thread(target=lambda: got.setdefault("out", p.stdout.read()))
        writer = threading.Thread(target=lambda: (p.stdin.write(stdin), p.stdin.close()))
        reader.start()
        writer.start()
        tty = b""
        while True:
            ready, _, _ = select.select([master], [], [], 120)
            if not ready:
                p.kill()
                self.fail("no end of output")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the program closed its end
                break
            if not chunk:
                break
            tty += chunk
        rc = p.wait(timeout=60)
        reader.join()
        writer.join()
        out = got["out"]
        os.close(master)
        return rc, out, tty.decode().replace("\r\n", "\n")

    def test_each_sender_on_a_terminal(self):
        data = b"".join(EXAMPLES)
        for prog, sent in (("pca-webhook", 26), ("pca-send-sms", 52), ("pca-send-email", 52)):
            with self.subTest(prog=prog):
                rc, out, tty = self.on_a_terminal(self.argv(prog), data)
                self.assertEqual(rc, 0, tty)
                self.assertEqual(len(out.splitlines()), 26)
                self.assertNotIn(b"\x1b", out)
                self.assertNotIn(b"\r", out)
                self.assertIn("\x1b[K", tty)
                last = screen(tty)[-1]
                self.assertRegex(last, r"^%s: 26 read, %d sent, 0 failed, 0 spooled" %
                                 (prog, sent))

    def test_messages_get_lines_of_their_own(self):
        rc, out, tty = self.on_a_terminal(self.argv("pca-webhook") + ["-v"],
                                          b"".join(EXAMPLES) + b"not json\n")
        self.assertEqual(rc, 65, tty)
        lines = screen(tty)
        said = [line for line in lines if " read, " not in line]
        self.assertEqual(len([line for line in said if ": succeeded" in line]), 26, tty)
        self.assertIn("pca-webhook: <stdin>:27: not JSON: null expected at byte 2", said)
        self.assertIn("<stdin>:27: not json", said)  # the rejected line itself
        for line in said:
            self.assertTrue(line.startswith("pca-webhook: ") or line.startswith("<stdin>:27: "),
                            line)
        self.assertRegex(lines[-1], r"^pca-webhook: 27 read, 26 sent, 0 failed, 0 spooled")

    def test_quiet_and_dry_run_show_none(self):
        for extra in (["-q"], ["-n"]):
            with self.subTest(extra=extra):
                rc, out, tty = self.on_a_terminal(self.argv("pca-webhook") + extra,
                                                  b"".join(EXAMPLES))
                self.assertEqual((rc, tty), (0, ""))

    def test_none_when_stderr_is_not_a_terminal(self):
        rc, out, err = T.run(self.argv("pca-webhook"), stdin=b"".join(EXAMPLES), env=self.env,
                             cwd=self.tmp)
        self.assertEqual((rc, err), (0, ""))

    def test_none_on_a_dumb_terminal(self):
        rc, out, tty = self.on_a_terminal(self.argv("pca-webhook"), b"".join(EXAMPLES),
                                          env=dict(self.env, TERM="dumb"))
        self.assertEqual((rc, tty), (0, ""))


if __name__ == "__main__":
    unittest.main()
