"""SMTP servers on 127.0.0.1 for the integration tests, made with Debian's
python3-aiosmtpd (1.4), and a sink for the benchmark.

    with SmtpServer() as s:                       # plain, no TLS
        run(... "--smtp", s.url(), "--tls", "none" ...)
        s.accepted()                              # the transactions taken

Kinds of server (keyword arguments of SmtpServer):

- tls=None: plain SMTP; STARTTLS is not offered.
- tls=(cert, key), implicit=False: STARTTLS offered; require_starttls=True
  refuses MAIL (530) before it.
- tls=(cert, key), implicit=True: TLS from the first byte (smtps://).
- auth={"user": "password"}: AUTH offered (after TLS when there is TLS),
  mechanisms=("PLAIN", "LOGIN", "XOAUTH2") restricts them (XOAUTH2 is a
  handler mechanism: aiosmtpd 1.4 has only PLAIN and LOGIN built in, but
  takes others from the handler); tokens={"user": "token"} are the bearer
  tokens XOAUTH2 accepts; auth_required=True refuses MAIL (530) without it.
- faults=[Fault(...), ...]: replies and drops injected per transaction or
  per recipient (see Fault).

Every transaction is recorded as a Transaction: the connection it came on,
whether TLS was active, the AUTH user and mechanism, the envelope (MAIL FROM
and each RCPT TO with its reply), the exact message bytes (dot-unstuffed, as
a real server keeps them) and how it ended. Every command line is recorded
too (AUTH arguments masked), with the TLS state it came in: what went in
clear can be checked.

Only 127.0.0.1 is bound; a pre-bound socket gives each server its own free
port without a race.
"""
import asyncio
import base64
import binascii
import hashlib
import logging
import socket
import ssl
import struct
import sys
import threading
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOST = "127.0.0.1"

# aiosmtpd logs every connection and complains when a client vanishes
# mid-command, which is what the fault tests make clients do.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
logging.getLogger("asyncio").setLevel(logging.CRITICAL)
warnings.filterwarnings("ignore", message=".*AUTH.*TLS.*")
warnings.filterwarnings("ignore", message=".*auth_require_tls.*")


class Fault:
    """One injected misbehaviour. `at` says when:

    "connect"     reply `reply` (e.g. "421 4.3.2 Busy") instead of the greeting
    "mail"        reply `reply` to MAIL FROM
    "rcpt"        reply `reply` to RCPT TO
    "data"        reply `reply` after the whole message (instead of 250)
    "data_drop"   after 354, read `after` bytes of the message, then close
                  the connection with a RST (the message is cut short)
    "data_close"  read the whole message, then close without a reply (the
                  client cannot know whether it was taken)
    "data_stall"  read the whole message, then say nothing for `stall`
                  seconds (the client times out)

    rcpt: only transactions to this address (None: any). times: how many
    times it fires, then it is spent (None: always). A reply starting with
    421 also closes the connection, as RFC 5321 says a server does."""

    STAGES = ("connect", "mail", "rcpt", "data", "data_drop", "data_close", "data_stall")

    def __init__(self, at, reply=None, rcpt=None, times=1, after=0, stall=30.0):
        if at not in self.STAGES:
            raise ValueError("unknown fault stage %r" % at)
        if at in ("connect", "mail", "rcpt", "data") and not reply:
            raise ValueError("fault %r needs a reply" % at)
        self.at = at
        self.reply = reply
        self.rcpt = rcpt.lower() if rcpt else None
        self.times = times
        self.after = after
        self.stall = stall
        self.fired = 0

    def __repr__(self):
        return "Fault(%r, %r, rcpt=%r, times=%r, fired=%d)" % (self.at, self.reply, self.rcpt,
                                                              self.times, self.fired)


class Transaction:
    """One MAIL FROM ... as the server saw it.

    outcome: "open" (not finished), "accepted" (250 to the end of DATA),
    "refused" (a 4xx/5xx reply ended it: see reply), "dropped" (the server
    cut the connection mid-DATA), "closed" (the whole message came, the
    connection was closed without a reply), "stalled", "abandoned" (the
    client went away or reset before DATA ended)."""

    def __init__(self, conn, index, tls, auth_user, auth_mechanism, helo, mail_from):
        self.conn = conn
        self.index = index
        self.tls = tls
        self.auth_user = auth_user
        self.auth_mechanism = auth_mechanism
        self.helo = helo
        self.mail_from = mail_from
        self.rcpts = []          # [(address, reply)] for every RCPT TO
        self.data = None         # bytes: the message (part of it when dropped)
        self.outcome = "open"
        self.reply = None        # the reply that ended it
        self.at = time.monotonic()

    @property
    def rcpt_tos(self):
        """The recipients the server accepted."""
        return [a for a, r in self.rcpts if r.startswith("250")]

    def __repr__(self):
        return "<Transaction #%d conn %d %s -> %s %s%s %s>" % (
            self.index, self.conn, self.mail_from, self.rcpt_tos, self.outcome,
            " TLS" if self.tls else "", (len(self.data) if self.data is not None else "-"))


class Command:
    """One command line: its connection, verb, argument (AUTH masked) and
    whether it came over TLS."""

    def __init__(self, conn, verb, arg, tls):
        self.conn, self.verb, self.arg, self.tls = conn, verb, arg, tls

    def __repr__(self):
        return "<%d %s %s%s>" % (self.conn, self.verb, self.arg or "", " TLS" if self.tls else "")


# ---- the protocol ----


class _Handler:
    """aiosmtpd's hooks: records what comes, and injects the faults."""

    def __init__(self, owner):
        self.owner = owner

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        server.helo = hostname
        # aiosmtpd says "AUTH" even with no mechanism left: a server without
        # AUTH does not say it at all.
        return [r for r in responses if r.rstrip() != "250-AUTH"]

    async def handle_MAIL(self, server, session, envelope, address, options):
        o = self.owner
        with o.lock:
            t = Transaction(server.conn_id, len(o.transactions), server.tls_active(),
                            server.auth_user, server.auth_mechanism, server.helo, address)
            o.transactions.append(t)
            o.cond.notify_all()
        server.current = t
        if o.auth_required and not session.authenticated:
            t.outcome, t.reply = "refused", "530 5.7.0 Authentication required"
            return t.reply
        reply = o.fire("mail", None)
        if reply:
            t.outcome, t.reply = "refused", reply
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        reply = self.owner.fire("rcpt", [address]) or "250 2.1.5 OK"
        t = server.current
        if t is not None:
            with self.owner.lock:
                t.rcpts.append((address, reply))
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
        return reply

    async def handle_RSET(self, server, session, envelope):
        server.abandon()
        return "250 2.0.0 OK"

    async def handle_DATA(self, server, session, envelope):
        o = self.owner
        t = server.current
        server.current = None
        fault = o.fire_fault(("data_close", "data_stall", "data"), envelope.rcpt_tos)
        with o.lock:
            if t is not None:
                t.data = bytes(envelope.original_content)
            if fault is None:
                if t is not None:
                    t.outcome, t.reply = "accepted", "250"
                o.cond.notify_all()
                return "250 2.0.0 OK: queued as %d" % (t.index if t else -1)
            if t is not None:
                t.outcome = {"data_close": "closed", "data_stall": "stalled",
                             "data": "refused"}[fault.at]
                t.reply = fault.reply
            o.cond.notify_all()
        if fault.at == "data_close":
            server.cut()
            return "250 2.0.0 OK"  # never sent: the connection is gone
        if fault.at == "data_stall":
            await asyncio.sleep(fault.stall)
            server.cut()
            return "250 2.0.0 OK"
        return fault.reply

    async def auth_XOAUTH2(self, server, args):
        """SASL XOAUTH2 (Google's): base64 of
        "user=" U ^A "auth=Bearer " TOKEN ^A ^A, as the initial response or
        after an empty challenge."""
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is None or not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        fields = dict(f.split("=", 1) for f in blob.decode("utf-8", "replace").split("\x01")
                      if "=" in f)
        user = fields.get("user", "")
        bearer = fields.get("auth", "")
        ok = (bearer.startswith("Bearer ") and
              self.owner.tokens.get(user) == bearer[len("Bearer "):])
        if ok:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 Username and Password not accepted")


class _SMTP(SMTP):
    """aiosmtpd's SMTP with what a test needs to see and to break."""

    def __init__(self, owner, handler, **kw):
        super().__init__(handler, **kw)
        self.owner = owner
        self.conn_id = owner.next_conn()
        self.helo = None
        self.current = None
        self.auth_user = None
        self.auth_mechanism = None
        self.muted = False
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._recorded(verb, method)

    def _recorded(self, verb, method):
        async def wrapper(arg):
            shown = arg
            if verb == "AUTH" and arg:
                shown = arg.split()[0] + (" ***" if len(arg.split()) > 1 else "")
            self.owner.record_command(Command(self.conn_id, verb, shown, self.tls_active()))
            await method(arg)
            if verb == "AUTH" and self.session.authenticated and not self.auth_user:
                self.auth_mechanism = arg.split()[0].upper()
                login = self.session.login_data
                if login is None and isinstance(self.session.auth_data, LoginPassword):
                    login = self.session.auth_data.login
                self.auth_user = login.decode() if isinstance(login, bytes) else login
        return wrapper

    def tls_active(self):
        if self._tls_protocol is not None:
            return True
        t = self.transport
        return bool(t is not None and t.get_extra_info("ssl_object") is not None)

    def _authenticate(self, mechanism, auth_data):
        if self.owner.auth is None:
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        ok = self.owner.auth.get(login) == auth_data.password.decode("utf-8", "replace")
        if not ok:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)

    async def push(self, status):
        if self.muted:
            return
        await super().push(status)
        text = status.decode() if isinstance(status, bytes) else status
        if text.startswith("421"):
            self.cut(reset=False)

    def abandon(self):
        """The transaction in progress ended without DATA completing."""
        t, self.current = self.current, None
        if t is not None and t.outcome == "open":
            with self.owner.lock:
                t.outcome = "abandoned"
                self.owner.cond.notify_all()

    def cut(self, reset=True):
        """Close the connection now: nothing more is written. reset: with a
        RST rather than a FIN."""
        self.muted = True
        transport = self._original_transport or self.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if reset and sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        if reset:
            transport.abort()
        else:
            transport.close()

    async def _handle_client(self):
        reply = self.owner.fire("connect", None)
        if reply:
            self._writer.write(reply.encode() + b"\r\n")
            await asyncio.sleep(0.05)
            self.cut(reset=False)
            return
        try:
            await super()._handle_client()
        finally:
            self.abandon()

    def connection_made(self, transport):
        super().connection_made(transport)
        with self.owner.lock:
            self.owner.protocols.add(self)

    def connection_lost(self, error):
        self.abandon()
        with self.owner.lock:
            self.owner.protocols.discard(self)
        super().connection_lost(error)

    async def smtp_DATA(self, arg):
        t = self.current
        fault = None
        if t is not None and self.envelope.rcpt_tos and not arg:
            fault = self.owner.fire_fault(("data_drop",), self.envelope.rcpt_tos)
        if fault is None:
            return await super().smtp_DATA(arg)
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        got = b""
        while len(got) < fault.after:
            chunk = await self._reader.read(fault.after - len(got))
            if not chunk:
                break
            got += chunk
        with self.owner.lock:
            t.data = got
            t.outcome, t.reply = "dropped", None
            self.owner.cond.notify_all()
        self.current = None
        self.cut()


class _Controller(Controller):
    """A Controller on a socket bound beforehand (a free port, no race)."""

    def __init__(self, owner, sock, **kw):
        self.owner = owner
        self._sock = sock
        super().__init__(_Handler(owner), hostname=HOST, port=sock.getsockname()[1], **kw)

    def factory(self):
        return _SMTP(self.owner, self.handler, **self.SMTP_kwargs)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock,
                                       ssl=self.ssl_context)


# ---- the server ----


def server_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


class SmtpServer:
    """An SMTP server on 127.0.0.1 (see the module's docstring)."""

    def __init__(self, tls=None, implicit=False, require_starttls=False, auth=None,
                 mechanisms=None, tokens=None, auth_required=False, faults=(),
                 hostname="smtp.pca-test.localhost", timeout=30, rcvbuf=None):
        self.tls = tls
        self.implicit = implicit
        self.auth = dict(auth) if auth is not None else None
        self.tokens = dict(tokens or {})
        self.faults = list(faults)
        self.transactions = []
        self.commands = []
        self.connections = 0
        self.protocols = set()
        self.live = False
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            # A small fixed window (no autotuning) and small segments (on
            # loopback a client's send buffer is sized from a 64 KiB MSS,
            # megabytes): a client sending a large message is still sending
            # when a "data_drop" fault cuts it off, and knows it.
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1400)
        self._sock.bind((HOST, 0))
        self.port = self._sock.getsockname()[1]
        ctx = server_context(*tls) if tls else None
        kw = {"server_hostname": hostname, "timeout": timeout, "enable_SMTPUTF8": False,
              "data_size_limit": 64 << 20}
        if ctx is not None and implicit:
            kw["ssl_context"] = ctx
            kw["auth_require_tls"] = False  # already TLS: aiosmtpd only knows STARTTLS
        elif ctx is not None:
            kw["tls_context"] = ctx
            kw["require_starttls"] = require_starttls
        else:
            kw["auth_require_tls"] = False
        if auth is None and tokens is None:
            wanted = set()
        elif mechanisms is None:
            wanted = {"PLAIN", "LOGIN"} | ({"XOAUTH2"} if tokens is not None else set())
        else:
            wanted = set(mechanisms)
        kw["auth_exclude_mechanism"] = [m for m in ("PLAIN", "LOGIN", "XOAUTH2")
                                        if m not in wanted]
        # Enforced by the handler: aiosmtpd warns when AUTH is required
        # without TLS, which a local relay test does on purpose.
        self.auth_required = auth_required
        self._controller = _Controller(self, self._sock, **kw)

    # -- control --

    def start(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._controller.start()
        # The controller's own check connection is not the test's.
        with self.lock:
            self.connections = 0
            self.commands = []
            self.transactions = []
            self.live = True
        return self

    def stop(self):
        """Close the connections still open, then stop."""
        c, self._controller = self._controller, None
        if c is None:
            return
        done = threading.Event()

        def close_all():
            with self.lock:
                protocols = list(self.protocols)
            for p in protocols:
                t = p._original_transport or p.transport
                if t is not None:
                    t.abort()
            done.set()
        c.loop.call_soon_threadsafe(close_all)
        done.wait(5)
        c.stop(no_assert=True)

    close = stop

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def url(self, scheme=None, host=HOST):
        return "%s://%s:%d" % (scheme or ("smtps" if self.implicit else "smtp"), host, self.port)

    def set_faults(self, faults):
        with self.lock:
            self.faults = list(faults)

    # -- what came --

    def snapshot(self):
        with self.lock:
            return list(self.transactions)

    def accepted(self):
        """The transactions the server took (250 after DATA), in order."""
        with self.lock:
            return [t for t in self.transactions if t.outcome == "accepted"]

    def received(self):
        """Transactions whose whole message arrived, taken or not."""
        with self.lock:
            return [t for t in self.transactions
                    if t.outcome in ("accepted", "closed", "stalled") or
                    (t.outcome == "refused" and t.data is not None)]

    def verbs(self, conn=None):
        with self.lock:
            return [c.verb for c in self.commands if conn is None or c.conn == conn]

    def clear(self):
        with self.lock:
            self.transactions = []
            self.commands = []
            self.connections = 0

    def wait_for(self, n, timeout=10.0):
        """Wait until n transactions were accepted; True when they were."""
        end = time.monotonic() + timeout
        with self.cond:
            while sum(t.outcome == "accepted" for t in self.transactions) < n:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    # -- used by the protocol --

    def next_conn(self):
        with self.lock:
            self.connections += 1
            return self.connections

    def record_command(self, cmd):
        with self.lock:
            self.commands.append(cmd)

    def fire_fault(self, stages, rcpts):
        """The first live fault of one of `stages` that matches, spent once."""
        with self.lock:
            if not self.live:
                return None  # the controller's own check connection
            for f in self.faults:
                if f.at not in stages:
                    continue
                if f.times is not None and f.fired >= f.times:
                    continue
                if f.rcpt is not None and (rcpts is None or
                                           f.rcpt not in [r.lower() for r in rcpts]):
                    continue
                f.fired += 1
                return f
        return None

    def fire(self, stage, rcpts):
        f = self.fire_fault((stage,), rcpts)
        return f.reply if f else None


# ---- a sink, for the benchmark ----


class _Sink:
    """Accepts every message; keeps a count, the bytes, and an order-free
    digest of the messages (the sum of their SHA-256 values), so that two
    senders can be shown to have sent the same messages."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.count = self.bytes = self.digest = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [r for r in responses if r.rstrip() != "250-AUTH"]

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content
        h = int.from_bytes(hashlib.sha256(data).digest(), "big")
        with self.lock:
            self.count += 1
            self.bytes += len(data)
            self.digest = (self.digest + h) % (1 << 256)
        return "250 2.0.0 OK"

    def take(self):
        with self.lock:
            line = "%d %d %064x" % (self.count, self.bytes, self.digest)
            self.reset()
        return line


def serve_sink():
    """`python3 smtp_servers.py sink`: a plain SMTP server on a free port of
    127.0.0.1 that takes and discards every message. It prints its port,
    then, for each line "stats" on its standard input, "COUNT BYTES DIGEST"
    for the messages since the last one; it ends when its input ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    handler = _Sink()

    class SinkController(Controller):
        def _create_server(self):
            return self.loop.create_server(self._factory_invoker, sock=sock)

    c = SinkController(handler, hostname=HOST, port=sock.getsockname()[1],
                       server_hostname="sink.pca-test.localhost", enable_SMTPUTF8=False,
                       auth_exclude_mechanism=["PLAIN", "LOGIN"], data_size_limit=64 << 20)
    c.start()
    print(sock.getsockname()[1], flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "stats":
                print(handler.take(), flush=True)
    except KeyboardInterrupt:
        pass
    c.stop(no_assert=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["sink"]:
        serve_sink()
    else:
        sys.exit("usage: smtp_servers.py sink")
