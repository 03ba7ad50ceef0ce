"""Fake servers on 127.0.0.1 for the integration tests, and what checks them.

- Server: a threaded HTTP/1.1 server (keep-alive, optionally TLS) on a free
  port of 127.0.0.1. It records every request (method, path, query,
  headers, exact body bytes, time, connection id) and answers from a
  response plan: a list consumed in order (its last entry repeats), or a
  callable of the request. Routes give a path its own plan. An answer is a
  status, headers and body, or a fault:

      Response(503, headers={"Retry-After": "1"})
      Response(delay=3)                   sleep 3 s, then answer (a timeout)
      Response(fault="reset")             read the request, close with a RST
      Response(fault="reset_after_headers")  send the head, then a RST
      Response(fault="malformed")         garbage instead of HTTP
      Response(fault="stall_body")        head and half the body, then stall
      Response(fault="close")             answer, then close the connection

  Shorthands anywhere a response is expected: 204, (429, {"Retry-After":
  "2"}), (200, {}, b"body"), "reset", "sleep 2.5", a dict or list (a JSON
  body with 200).

- make_certs(dir) / shared_certs(): a test CA and certificates made with the
  openssl command line: one for 127.0.0.1 and localhost, one for another
  host, and a second CA that signed nothing the servers use.

- Standard Webhooks, computed here with hmac and base64 only: sw_sign,
  sw_verify (checks every v1 signature of a request against the secrets),
  new_secret.

- RefusedPort: a port of 127.0.0.1 where nothing listens (connections are
  refused), held so that nobody else takes it meanwhile.

Only 127.0.0.1 is ever bound or contacted.
"""
import base64
import binascii
import hashlib
import hmac
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse

HOST = "127.0.0.1"

REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
    301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
    413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}

FAULTS = ("reset", "reset_after_headers", "malformed", "stall_body", "close")


# ---- requests and responses ----


class Headers:
    """Header fields in their order, looked up without regard to case."""

    def __init__(self, items=()):
        self.items = list(items)

    def get(self, name, default=None):
        name = name.lower()
        for k, v in self.items:
            if k.lower() == name:
                return v
        return default

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self.items if k.lower() == name]

    def __getitem__(self, name):
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __contains__(self, name):
        return self.get(name) is not None

    def names(self):
        return [k.lower() for k, _ in self.items]

    def __repr__(self):
        return "Headers(%r)" % self.items


class Request:
    """One request as the server received it."""

    def __init__(self, method, target, version, headers, body, conn_id, index, at, wall):
        self.method = method
        self.target = target
        self.version = version
        parts = urllib.parse.urlsplit(target)
        self.path = parts.path
        self.query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.body = body              # the exact bytes received (chunked: decoded)
        self.conn_id = conn_id        # which connection (1, 2, ... in accept order)
        self.index = index            # which request of the server (0, 1, ...)
        self.at = at                  # time.monotonic() when the head was read
        self.wall = wall              # time.time() likewise

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        return json.loads(self.body)

    def form(self):
        """An application/x-www-form-urlencoded body: {name: [values]}."""
        return urllib.parse.parse_qs(self.body.decode("utf-8"), keep_blank_values=True,
                                     strict_parsing=bool(self.body))

    def basic_auth(self):
        """(user, password) of an Authorization: Basic header, or None."""
        scheme, _, value = (self.header("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
        return user, password

    def __repr__(self):
        return "<Request #%d conn %d %s %s %d bytes>" % (self.index, self.conn_id, self.method,
                                                        self.target, len(self.body))


class Response:
    """An answer, or a fault. delay: seconds to wait first (answering after
    the client gave up is how a timeout is made)."""

    def __init__(self, status=200, headers=None, body=b"", reason=None, delay=0.0, fault=None,
                 stall=30.0):
        if fault is not None and fault not in FAULTS:
            raise ValueError("unknown fault %r" % fault)
        self.status = status
        self.headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            self.headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self.body = body
        self.reason = reason
        self.delay = delay
        self.fault = fault
        self.stall = stall

    def __repr__(self):
        return "Response(%r, fault=%r, delay=%r)" % (self.status, self.fault, self.delay)


def as_response(x):
    """A Response from any shorthand (see the module's docstring)."""
    if isinstance(x, Response):
        return x
    if x is None:
        return Response(200)
    if isinstance(x, int):
        return Response(x)
    if isinstance(x, tuple):
        return Response(*x)
    if isinstance(x, (dict, list)):
        return Response(200, body=x)
    if isinstance(x, str):
        if x.startswith("sleep "):
            return Response(200, delay=float(x.split()[1]))
        return Response(fault=x)
    raise TypeError("not a response: %r" % (x,))


class Plan:
    """What to answer: a list (in order, the last entry repeating; an empty
    list answers 200) or a callable request -> response."""

    def __init__(self, plan):
        self.fn = plan if callable(plan) else None
        self.items = [] if callable(plan) else list(plan if isinstance(plan, (list, tuple))
                                                    else [plan])
        self.used = 0
        self.lock = threading.Lock()

    def next(self, req):
        if self.fn:
            return as_response(self.fn(req))
        with self.lock:
            if not self.items:
                return Response(200)
            x = self.items[min(self.used, len(self.items) - 1)]
            self.used += 1
        return as_response(x)


# ---- the server ----


class _Closed(Exception):
    pass


class _Conn:
    """Buffered reading from one client connection."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _more(self):
        try:
            data = self.sock.recv(65536)
        except (OSError, ssl.SSLError):
            data = b""
        if not data:
            raise _Closed()
        self.buf += data

    def read_until(self, sep, limit=1 << 20):
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise _Closed()
            self._more()
        head, self.buf = self.buf.split(sep, 1)
        return head

    def read_exact(self, n):
        while len(self.buf) < n:
            self._more()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


class Server:
    """An HTTP/1.1 server on 127.0.0.1 (see the module's docstring).

        with Server([500, 200]) as s:
            run(... s.url("/hook") ...)
            s.requests          # what came, in order

    tls: None, or (certfile, keyfile). default_plan answers paths without a
    route of their own."""

    def __init__(self, plan=None, tls=None, routes=None):
        self.plan = Plan(plan if plan is not None else [])
        self.routes = {}
        for path, p in (routes or {}).items():
            self.route(path, p)
        self.tls = None
        if tls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
        self.requests = []
        self.connections = 0
        self.tls_failures = 0     # handshakes the client broke off (or that failed)
        self.errors = []          # unexpected exceptions in handler threads
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._socks = set()
        self._threads = []
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listen.bind((HOST, 0))
        self._listen.listen(128)
        self.port = self._listen.getsockname()[1]
        self._acceptor = None

    # -- control --

    def start(self):
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()
        return self

    def close(self):
        """Stop accepting, break every connection (stalled handlers wake up)."""
        if self._stop.is_set():
            return
        self._stop.set()
        try:
            self._listen.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listen.close()
        with self._cond:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._acceptor:
            self._acceptor.join(5)
        for t in list(self._threads):
            t.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def set_plan(self, plan):
        """Answer from now on with this plan (paths without a route)."""
        self.plan = Plan(plan)

    def route(self, path, plan):
        """Answer requests for `path` (exact, without the query) from `plan`;
        "POST /path" routes one method only and goes first."""
        self.routes[path] = Plan(plan)

    def url(self, path="/", host=HOST):
        scheme = "https" if self.tls else "http"
        return "%s://%s:%d%s" % (scheme, host, self.port, path)

    # -- what came --

    def count(self):
        with self._cond:
            return len(self.requests)

    def snapshot(self):
        with self._cond:
            return list(self.requests)

    def clear(self):
        with self._cond:
            self.requests = []

    def wait_for(self, n, timeout=10.0):
        """Wait until n requests came; True when they did."""
        end = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < n:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    # -- the work --

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                sock, _ = self._listen.accept()
            except OSError:
                return
            with self._cond:
                self.connections += 1
                conn_id = self.connections
                self._socks.add(sock)
            t = threading.Thread(target=self._serve, args=(sock, conn_id), daemon=True)
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)
            t.start()

    def _serve(self, sock, conn_id):
        raw = sock
        try:
            if self.tls:
                try:
                    sock = self.tls.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    with self._cond:
                        self.tls_failures += 1
                    return
                with self._cond:
                    self._socks.add(sock)
            conn = _Conn(sock)
            while not self._stop.is_set():
                req = self._read_request(conn, conn_id)
                if req is None or not self._answer(sock, req):
                    return
        except _Closed:
            pass
        except Exception as e:  # a bug in a plan: keep it for the test to see
            self.errors.append(e)
        finally:
            with self._cond:
                self._socks.discard(raw)
                self._socks.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def _read_request(self, conn, conn_id):
        head = conn.read_until(b"\r\n\r\n")
        at, wall = time.monotonic(), time.time()
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        items = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            items.append((name.strip(), value.strip()))
        headers = Headers(items)
        if (headers.get("expect") or "").lower() == "100-continue":
            conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in (headers.get("transfer-encoding") or "").lower():
            body = self._read_chunked(conn)
        else:
            body = conn.read_exact(int(headers.get("content-length") or 0))
        with self._cond:
            req = Request(parts[0], parts[1], parts[2], headers, body, conn_id,
                          len(self.requests), at, wall)
            self.requests.append(req)
            self._cond.notify_all()
        return req

    @staticmethod
    def _read_chunked(conn):
        body = b""
        while True:
            size = int(conn.read_until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                conn.read_until(b"\r\n")  # no trailers expected
                return body
            body += conn.read_exact(size)
            conn.read_exact(2)

    def _plan_for(self, req):
        return self.routes.get("%s %s" % (req.method, req.path),
                               self.routes.get(req.path, self.plan))

    def requests_for(self, path):
        """The requests for one path, in order."""
        return [r for r in self.snapshot() if r.path == path]

    def _answer(self, sock, req):
        """Answer req; False when the connection is to end."""
        r = self._plan_for(req).next(req)
        if r.delay and self._stop.wait(r.delay):
            return False
        if r.fault == "reset":
            _reset(sock)
            return False
        if r.fault == "malformed":
            _send(sock, b"this is not HTTP at all\r\n\xff\xfe garbage\r\n\r\n")
            return False
        head, body = _render(r, req)
        if r.fault == "reset_after_headers":
            _send(sock, head)
            time.sleep(0.05)
            _reset(sock)
            return False
        if r.fault == "stall_body":
            _send(sock, head + body[:len(body) // 2])
            self._stop.wait(r.stall)
            return False
        if not _send(sock, head + body):
            return False
        return r.fault != "close" and (req.header("connection") or "").lower() != "close"


def _render(r, req):
    body = r.body
    if r.fault in ("stall_body", "reset_after_headers") and len(body) < 2:
        body = b"x" * 64  # a body must be announced for it to be cut short
    headers = dict(r.headers)
    if not any(k.lower() == "content-length" for k in headers):
        headers["Content-Length"] = str(len(body))
    if r.fault == "close":
        headers["Connection"] = "close"
    reason = r.reason or REASONS.get(r.status, "Status")
    lines = ["HTTP/1.1 %d %s" % (r.status, reason)]
    lines += ["%s: %s" % (k, v) for k, v in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head, (b"" if req.method == "HEAD" else body)


def _send(sock, data):
    try:
        sock.sendall(data)
        return True
    except (OSError, ssl.SSLError):
        return False


def _reset(sock):
    """Close so that the peer gets a RST, not a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class RefusedPort:
    """A port of 127.0.0.1 with nothing listening: bound (so that nobody
    takes it) but not listening, so connections are refused."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]

    def url(self, path="/", scheme="http"):
        return "%s://%s:%d%s" % (scheme, HOST, self.port, path)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- certificates ----


class Certs:
    """Paths of the test PKI (PEM files)."""

    def __init__(self, directory):
        self.dir = directory
        p = lambda name: os.path.join(directory, name)  # noqa: E731
        self.ca_cert, self.ca_key = p("ca.pem"), p("ca.key")
        self.server_cert, self.server_key = p("server.pem"), p("server.key")
        self.wrong_cert, self.wrong_key = p("wrong.pem"), p("wrong.key")
        self.other_ca_cert, self.other_ca_key = p("other-ca.pem"), p("other-ca.key")

    @property
    def server(self):
        return (self.server_cert, self.server_key)

    @property
    def wrong_host(self):
        return (self.wrong_cert, self.wrong_key)


def _openssl(*args, cwd=None):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def _make_ca(cert, key, name):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", key, "-out", cert, "-days", "3650", "-subj", "/CN=" + name,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def _make_leaf(directory, cert, key, ca_cert, ca_key, cn, san):
    csr = cert + ".csr"
    ext = cert + ".ext"
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=%s\n" % san)
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn)
    _openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
             "-out", cert, "-days", "825", "-extfile", ext, cwd=directory)


def make_certs(directory):
    """Make the test PKI in directory: a CA; a server certificate for
    127.0.0.1 and localhost and one for wrong.example, both signed by it;
    and a second CA. Returns a Certs."""
    os.makedirs(directory, exist_ok=True)
    c = Certs(directory)
    _make_ca(c.ca_cert, c.ca_key, "pca test CA")
    _make_ca(c.other_ca_cert, c.other_ca_key, "pca other test CA")
    _make_leaf(directory, c.server_cert, c.server_key, c.ca_cert, c.ca_key, "127.0.0.1",
               "IP:127.0.0.1,DNS:localhost")
    _make_leaf(directory, c.wrong_cert, c.wrong_key, c.ca_cert, c.ca_key, "wrong.example",
               "DNS:wrong.example")
    return c


_certs = None


def shared_certs():
    """The test PKI of this process, made once in a temporary directory that
    goes when the process ends."""
    global _certs
    if _certs is None:
        import atexit
        d = tempfile.mkdtemp(prefix="pca-certs-")
        atexit.register(shutil.rmtree, d, True)
        _certs = make_certs(d)
    return _certs


# ---- Standard Webhooks, independently ----


class SignatureError(Exception):
    pass


def new_secret(nbytes=32):
    """A fresh whsec_ secret of nbytes random bytes."""
    return "whsec_" + base64.b64encode(os.urandom(nbytes)).decode()


def secret_key(secret):
    """The key bytes of a whsec_ secret (strict base64)."""
    if not secret.startswith("whsec_"):
        raise ValueError("not a whsec_ secret")
    return base64.b64decode(secret[len("whsec_"):], validate=True)


def sw_sign(secret, msg_id, timestamp, body):
    """The v1 signature ("v1,<base64>") of id.timestamp.body."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    signed = ("%s.%s." % (msg_id, timestamp)).encode("utf-8") + body
    mac = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def sw_verify(headers, body, secrets, now=None, tolerance=300):
    """Check a Standard Webhooks delivery. headers: a Headers, a Request (its
    headers and body are used, body may be None) or a dict. Every v1
    signature in webhook-signature must be valid base64 of 32 bytes;
    returns, for each signature in order, the index of the secret it
    verifies with. Raises SignatureError when a header is missing or
    malformed, a signature matches no secret, or (with now, seconds) the
    timestamp is more than tolerance away."""
    if isinstance(headers, Request):
        body = headers.body if body is None else body
        headers = headers.headers
    if isinstance(headers, dict):
        headers = Headers(headers.items())
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sig = headers.get("webhook-signature")
    if not msg_id or not ts or not sig:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not ts.isdigit():
        raise SignatureError("webhook-timestamp %r is not decimal digits" % ts)
    if now is not None and abs(int(now) - int(ts)) > tolerance:
        raise SignatureError("webhook-timestamp %s is %d s from now" % (ts, int(ts) - int(now)))
    if isinstance(body, str):
        body = body.encode("utf-8")
    signed = ("%s.%s." % (msg_id, ts)).encode("utf-8") + body
    macs = [hmac.new(secret_key(s), signed, hashlib.sha256).digest() for s in secrets]
    matched = []
    for token in sig.split(" "):
        version, _, value = token.partition(",")
        if version != "v1":
            raise SignatureError("signature %r is not v1" % token)
        try:
            got = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise SignatureError("signature %r is not base64" % token) from None
        if len(got) != 32:
            raise SignatureError("signature %r is not 32 bytes" % token)
        which = [i for i, m in enumerate(macs) if hmac.compare_digest(m, got)]
        if not which:
            raise SignatureError("signature %r matches no secret" % token)
        matched.append(which[0])
    return matched
