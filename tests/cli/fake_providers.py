"""Fake SMS providers on 127.0.0.1, for the tests of pca-send-sms.

Each fake is a servers.Server whose plan reads every request the way the
real provider would (its path, its authentication, its form or JSON
fields), writes down what it understood as a Message, and answers in the
provider's own format:

    Twilio   POST /2010-04-01/Accounts/{sid}/Messages.json, basic auth,
             form To, From | MessagingServiceSid, Body, StatusCallback;
             201 {"sid": "SM...", "status": "queued", "num_segments": "2", ...}
             or {"code": 21211, "message": ..., "more_info": ..., "status": 400}
    Vonage   POST /sms/json, form api_key, api_secret, from, to (no "+"),
             text, type=unicode, callback; 200 {"message-count": "2",
             "messages": [{"status": "0", "message-id": ...}, ...]}, a
             failure being a non-"0" status with an "error-text"
    Telnyx   POST /v2/messages, Bearer key, JSON from, to, text,
             messaging_profile_id, webhook_url; 200 {"data": {...}} or
             {"errors": [{"code": "40310", "title": ..., "detail": ...}]}
    SNS      POST /, form Action=Publish, Version, PhoneNumber, Message,
             MessageAttributes.entry.N...; an AWS SigV4 Authorization
             header, checked here with hmac and hashlib; XML answers
             (PublishResponse, or ErrorResponse with a Code)
    Generic  any path, form or JSON, fields named at construction, an
             optional header that must carry the secret; 200
             {"messages": [{"id": "gw-000001", ...}]}

Whatever a request gets wrong (a missing or unknown field, a field not
percent-encoded the one canonical way, a wrong secret, a "+" left in a
Vonage number, type=unicode missing on a UCS-2 text...) goes into
fake.problems, and a test asserts that list is empty.

Answers are scripted with then(): each entry answers one request, in
order, for any recipient or (to=NUMBER) for one; when the script has run
out, fake.default answers (normally "ok"). An entry is a word, a
servers.Response (or any of its shorthands), or a callable of the Message
returning either:

    "ok"               the provider's success answer
    "slow:3"           the success answer, after 3 seconds
    "throttle"         the provider's "too many requests" (429 where it
    "throttle:2"       uses HTTP for it, Retry-After: 2 with the number)
    "invalid_number"   the provider's "not a valid phone number" (21211...)
    "server_error"     500 with the provider's body
    "unavailable"      503, a plain text body
    "reset"            read the request, then reset the connection

Only 127.0.0.1 is ever bound.
"""
import base64
import hashlib
import hmac
import json
import re
import threading
import urllib.parse
import uuid
from datetime import datetime, timezone
from email.utils import format_datetime

import servers as S

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
# A form body as pca writes it: every byte but A-Z a-z 0-9 - . _ ~
# percent-encoded with upper-case hex digits, "=" and "&" only as separators.
CANONICAL_FORM = re.compile(rb"^(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+=(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})*"
                            rb"(?:&(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+="
                            rb"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})*)*$")

# ---- SMS encoding, counted independently of libpca ----

GSM7_BASIC = set(
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0")
GSM7_EXTENSION = set("\f^{}\\[~]|\u20ac")


def sms_encoding(text):
    """"GSM-7" when every character is in the GSM 03.38 tables, else "UCS-2"."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        return "GSM-7"
    return "UCS-2"


def sms_segments(text):
    """(encoding, segments) the way carriers count: GSM-7 160 septets, 153 a
    part when concatenated, an escape pair never split; UCS-2 70 UTF-16
    units, 67 a part, a surrogate pair never split. (Graphemes of several
    code points are not kept together here: the tests' texts have none at
    a part boundary.)"""
    enc = sms_encoding(text)
    if enc == "GSM-7":
        units = [2 if c in GSM7_EXTENSION else 1 for c in text]
        single, part = 160, 153
    else:
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, part = 70, 67
    if sum(units) <= single:
        return enc, 1
    parts, used = 1, 0
    for u in units:
        if used + u > part:
            parts += 1
            used = 0
        used += u
    return enc, parts


# ---- what a fake understood ----


class Message:
    """One request as the provider understood it: to (E.164, "+" added
    back for Vonage), sender, text, every field decoded (fields), the raw
    request, and what was answered (answer: the word or "scripted"; id:
    the message id given, if any)."""

    def __init__(self, provider, request):
        self.provider = provider
        self.request = request
        self.fields = {}
        self.to = None
        self.sender = None
        self.text = None
        self.answer = None
        self.id = None

    @property
    def encoding(self):
        return sms_encoding(self.text or "")

    @property
    def segments(self):
        return sms_segments(self.text or "")[1]

    def __repr__(self):
        return "<%s message to %s: %r (%s)>" % (self.provider, self.to, (self.text or "")[:30],
                                               self.answer)


def decode_form(body, problems, where):
    """An application/x-www-form-urlencoded body: [(name, value)] in order;
    anything not written the one canonical way goes into problems."""
    if body and not CANONICAL_FORM.match(body):
        bad = re.search(rb"[^A-Za-z0-9._~%=&-]|%(?![0-9A-F]{2})", body)
        problems.append("%s: the form body is not canonically percent-encoded (at %r)"
                        % (where, body[bad.start():bad.start() + 12] if bad else body[:40]))
    pairs = []
    for item in body.split(b"&") if body else []:
        name, _, value = item.partition(b"=")
        try:
            pairs.append((urllib.parse.unquote_to_bytes(name).decode("utf-8"),
                          urllib.parse.unquote_to_bytes(value).decode("utf-8")))
        except UnicodeDecodeError:
            problems.append("%s: field %r is not UTF-8" % (where, name))
    return pairs


def form_dict(pairs, problems, where):
    out = {}
    for name, value in pairs:
        if name in out:
            problems.append("%s: field %s given twice" % (where, name))
        out[name] = value
    return out


class FakeProvider:
    """The common part: a servers.Server, the script, the messages, the
    problems. Subclasses define parse() and the answers."""

    name = "fake"

    def __init__(self, secret, tls=None):
        self.secret = secret
        self.messages = []
        self.problems = []
        self.default = "ok"
        self._script = []
        self._script_to = {}
        self._lock = threading.Lock()
        self._serial = 0
        self.server = S.Server(self._answer, tls=tls)

    # -- control --

    def start(self):
        self.server.start()
        return self

    def close(self):
        self.server.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def url(self, path="/"):
        return self.server.url(path)

    @property
    def base_url(self):
        return self.server.url("")

    def then(self, *answers, to=None):
        """Answer the next requests (for the number `to` only, if given)
        with these, in order; then the earlier script, then default."""
        with self._lock:
            if to is None:
                self._script.extend(answers)
            else:
                self._script_to.setdefault(to, []).extend(answers)
        return self

    def sent(self, to=None):
        """The messages answered "ok" (or "slow"), in order; for `to` only."""
        with self._lock:
            return [m for m in self.messages if m.answer in ("ok", "slow")
                    and (to is None or m.to == to)]

    def to_numbers(self):
        with self._lock:
            return [m.to for m in self.messages]

    def count(self):
        return self.server.count()

    def wait_for(self, n, timeout=10.0):
        return self.server.wait_for(n, timeout)

    def reset_log(self):
        """Forget what came so far (not the script)."""
        with self._lock:
            self.messages = []
        self.server.clear()

    # -- the work --

    def problem(self, msg, text):
        self.problems.append("%s request #%d: %s" % (self.name, msg.request.index, text))

    def _next_serial(self):
        with self._lock:
            self._serial += 1
            return self._serial

    def _pick(self, msg):
        with self._lock:
            queue = self._script_to.get(msg.to)
            if queue:
                return queue.pop(0)
            if self._script:
                return self._script.pop(0)
            return self.default

    def _answer(self, req):
        msg = Message(self.name, req)
        refusal = self.parse(req, msg)
        with self._lock:
            self.messages.append(msg)
        if refusal is not None:
            msg.answer = "refused"
            return refusal
        choice = self._pick(msg)
        if callable(choice):
            choice = choice(msg)
        if isinstance(choice, str) and not choice.startswith("sleep ") and \
                choice not in S.FAULTS:
            return self._word(msg, choice)
        msg.answer = "scripted"
        return S.as_response(choice)

    def _word(self, msg, word):
        verb, _, arg = word.partition(":")
        msg.answer = verb
        if verb == "ok":
            return self.ok(msg)
        if verb == "slow":
            r = self.ok(msg)
            r.delay = float(arg)
            return r
        if verb == "throttle":
            return self.throttle(msg, arg or None)
        if verb == "invalid_number":
            return self.invalid_number(msg)
        if verb == "server_error":
            return self.server_error(msg)
        if verb == "unavailable":
            return S.Response(503, {"Content-Type": "text/plain"}, "Service Unavailable")
        raise ValueError("unknown answer %r" % word)

    # -- shared checks --

    def check_common(self, req, msg, path, content_type, method="POST"):
        if req.method != method:
            self.problem(msg, "method %s, not %s" % (req.method, method))
        if req.path != path:
            self.problem(msg, "path %s, not %s" % (req.path, path))
        if req.query:
            self.problem(msg, "a query string: %r" % req.target)
        ct = (req.header("content-type") or "").split(";")[0].strip()
        if ct != content_type:
            self.problem(msg, "Content-Type %r, not %s" % (req.header("content-type"),
                                                            content_type))
        if not (req.header("user-agent") or "").startswith("pca-send-sms/"):
            self.problem(msg, "User-Agent %r" % req.header("user-agent"))

    def check_e164(self, msg, number, what):
        if not number or not E164.match(number):
            self.problem(msg, "%s %r is not E.164" % (what, number))

    def check_text(self, msg):
        if not msg.text:
            self.problem(msg, "no text")

    def check_only(self, msg, fields, allowed, required):
        for k in fields:
            if k not in allowed:
                self.problem(msg, "unknown field %s" % k)
        for k in required:
            if k not in fields:
                self.problem(msg, "field %s missing" % k)

    def new_id(self, prefix="", width=32):
        n = self._next_serial()
        return prefix + hashlib.sha256(("%s-%d" % (self.name, n)).encode()).hexdigest()[:width]

    def new_uuid(self):
        n = self._next_serial()
        return str(uuid.UUID(bytes=hashlib.md5(("%s-%d" % (self.name, n)).encode()).digest()))


# ---- Twilio ----


class Twilio(FakeProvider):
    """Twilio's Programmable Messaging API (2010-04-01). api_key: the user
    of the basic auth when it is an API key SID rather than the account."""

    name = "twilio"
    FIELDS = ("To", "From", "MessagingServiceSid", "Body", "StatusCallback")

    def __init__(self, secret, account_sid="AC" + "0123456789abcdef" * 2, api_key=None,
                 tls=None):
        super().__init__(secret, tls)
        self.account_sid = account_sid
        self.api_key = api_key

    def path(self):
        return "/2010-04-01/Accounts/%s/Messages.json" % self.account_sid

    def parse(self, req, msg):
        self.check_common(req, msg, self.path(), "application/x-www-form-urlencoded")
        pairs = decode_form(req.body, self.problems, "twilio request #%d" % req.index)
        f = msg.fields = form_dict(pairs, self.problems, "twilio")
        names = [n for n, _ in pairs]
        order = [n for n in self.FIELDS if n in names]
        if names != order:
            self.problem(msg, "fields in the order %s" % names)
        self.check_only(msg, f, self.FIELDS, ("To", "Body"))
        if ("From" in f) == ("MessagingServiceSid" in f):
            self.problem(msg, "give exactly one of From and MessagingServiceSid")
        msg.to, msg.sender, msg.text = f.get("To"), f.get("From"), f.get("Body")
        self.check_e164(msg, msg.to, "To")
        self.check_text(msg)
        if not self._auth_ok(req):
            self.problem(msg, "basic auth %r" % req.header("authorization"))
            return self._error(401, 20003, "Authenticate")
        if msg.text and len(msg.text) > 1600:
            return self._error(400, 21617, "The concatenated message body exceeds the 1600 "
                               "character limit.")
        return None

    def _auth_ok(self, req):
        auth = req.header("authorization") or ""
        if not auth.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(auth[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == (self.api_key or self.account_sid) and password == self.secret

    def _error(self, status, code, message, headers=None):
        body = {"code": code, "message": message,
                "more_info": "https://www.twilio.com/docs/errors/%d" % code, "status": status}
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return S.Response(status, h, json.dumps(body))

    def ok(self, msg):
        msg.id = self.new_id("SM")
        now = format_datetime(datetime.now(timezone.utc), usegmt=True).replace("GMT", "+0000")
        f = msg.fields
        body = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": msg.text,
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": f.get("From"), "messaging_service_sid": f.get("MessagingServiceSid"),
            "num_media": "0", "num_segments": str(msg.segments), "price": None,
            "price_unit": "USD", "sid": msg.id,
            "status": "accepted" if "MessagingServiceSid" in f else "queued",
            "subresource_uris": {"media": "/2010-04-01/Accounts/%s/Messages/%s/Media.json"
                                 % (self.account_sid, msg.id)},
            "to": msg.to,
            "uri": "/2010-04-01/Accounts/%s/Messages/%s.json" % (self.account_sid, msg.id),
        }
        return S.Response(201, {"Content-Type": "application/json"}, json.dumps(body))

    def throttle(self, msg, retry_after):
        return self._error(429, 20429, "Too Many Requests",
                           {"Retry-After": retry_after} if retry_after else None)

    def invalid_number(self, msg):
        return self._error(400, 21211, "The 'To' number %s is not a valid phone number."
                           % msg.to)

    def server_error(self, msg):
        return self._error(500, 20500, "Internal Server Error")


# ---- Vonage (the SMS API) ----


class Vonage(FakeProvider):
    name = "vonage"
    FIELDS = ("api_key", "api_secret", "from", "to", "text", "type", "callback")

    def __init__(self, secret, api_key="a1b2c3d4", tls=None):
        super().__init__(secret, tls)
        self.api_key = api_key

    def parse(self, req, msg):
        self.check_common(req, msg, "/sms/json", "application/x-www-form-urlencoded")
        pairs = decode_form(req.body, self.problems, "vonage request #%d" % req.index)
        f = msg.fields = form_dict(pairs, self.problems, "vonage")
        self.check_only(msg, f, self.FIELDS, ("api_key", "api_secret", "from", "to", "text"))
        to = f.get("to") or ""
        if to.startswith("+"):
            self.problem(msg, "to %r starts with +" % to)
        msg.to = "+" + to.lstrip("+")
        msg.sender, msg.text = f.get("from"), f.get("text")
        self.check_e164(msg, msg.to, "to")
        self.check_text(msg)
        want_type = "unicode" if msg.encoding == "UCS-2" else None
        if f.get("type") != want_type and not (want_type is None and f.get("type") == "text"):
            self.problem(msg, "type=%r for a %s text" % (f.get("type"), msg.encoding))
        if req.header("authorization"):
            self.problem(msg, "an Authorization header as well as api_secret")
        if f.get("api_key") != self.api_key or f.get("api_secret") != self.secret:
            self.problem(msg, "api_key/api_secret %r/%r" % (f.get("api_key"),
                                                             f.get("api_secret")))
            return self._status(msg, "4", "Bad Credentials")
        return None

    def _status(self, msg, status, text):
        body = {"message-count": "1", "messages": [{"status": status, "error-text": text}]}
        if msg.to:
            body["messages"][0]["to"] = msg.to.lstrip("+")
        return S.Response(200, {"Content-Type": "application/json"}, json.dumps(body))

    def ok(self, msg):
        n = msg.segments
        parts = []
        for _ in range(n):
            parts.append({"to": msg.to.lstrip("+"), "message-id": self.new_id("", 16).upper(),
                          "status": "0", "remaining-balance": "3.14159265",
                          "message-price": "0.03330000", "network": "310260"})
        msg.id = parts[0]["message-id"]
        body = {"message-count": str(n), "messages": parts}
        return S.Response(200, {"Content-Type": "application/json"}, json.dumps(body))

    def throttle(self, msg, retry_after):
        # Vonage's SMS API says "throttled" with status 1 in a 200 answer.
        return self._status(msg, "1", "Throughput Rate Exceeded - please wait [ %s ] and retry"
                            % (retry_after or "1"))

    def invalid_number(self, msg):
        return self._status(msg, "3", "Invalid to number")

    def server_error(self, msg):
        return S.Response(500, {"Content-Type": "text/html"}, "<html><body>500 Internal Server "
                          "Error</body></html>")


# ---- Telnyx ----


class Telnyx(FakeProvider):
    name = "telnyx"
    FIELDS = ("from", "to", "text", "messaging_profile_id", "webhook_url")

    def parse(self, req, msg):
        self.check_common(req, msg, "/v2/messages", "application/json")
        try:
            f = json.loads(req.body)
        except ValueError:
            self.problem(msg, "the body is not JSON: %r" % req.body[:60])
            return self._errors(400, "10015", "Bad Request", "The request body is not JSON.")
        if not isinstance(f, dict) or not all(isinstance(v, str) for v in f.values()):
            self.problem(msg, "the body is not an object of strings: %r" % f)
            f = f if isinstance(f, dict) else {}
        msg.fields = f
        self.check_only(msg, f, self.FIELDS, ("to", "text"))
        if "from" not in f and "messaging_profile_id" not in f:
            self.problem(msg, "neither from nor messaging_profile_id")
        msg.to, msg.sender, msg.text = f.get("to"), f.get("from"), f.get("text")
        self.check_e164(msg, msg.to, "to")
        self.check_text(msg)
        if req.header("authorization") != "Bearer " + self.secret:
            self.problem(msg, "authorization %r" % req.header("authorization"))
            return self._errors(401, "10009", "Authentication failed",
                                "The API key is not valid.")
        return None

    def _errors(self, status, code, title, detail, headers=None):
        body = {"errors": [{"code": code, "title": title, "detail": detail,
                            "meta": {"url": "https://developers.telnyx.com/docs/overview/"
                                     "errors/%s" % code}}]}
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return S.Response(status, h, json.dumps(body))

    def ok(self, msg):
        msg.id = self.new_uuid()
        f = msg.fields
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = {"data": {
            "record_type": "message", "direction": "outbound", "id": msg.id, "type": "SMS",
            "messaging_profile_id": f.get("messaging_profile_id", "4001767e-ce0f-4cae-9d5f"
                                          "-0d5e636e7809"),
            "from": {"phone_number": f.get("from"), "carrier": "Telnyx", "line_type": "VoIP"},
            "to": [{"phone_number": msg.to, "status": "queued", "carrier": "T-MOBILE USA, INC.",
                    "line_type": "Wireless"}],
            "text": msg.text, "media": [], "webhook_url": f.get("webhook_url"),
            "encoding": msg.encoding, "parts": msg.segments,
            "tags": [], "cost": {"amount": "0.0051", "currency": "USD"},
            "received_at": now, "sent_at": None, "completed_at": None, "valid_until": None,
            "errors": []}}
        return S.Response(200, {"Content-Type": "application/json"}, json.dumps(body))

    def throttle(self, msg, retry_after):
        return self._errors(429, "10011", "Too many requests", "Rate limit exceeded.",
                            {"Retry-After": retry_after} if retry_after else None)

    def invalid_number(self, msg):
        return self._errors(400, "40310", "Invalid 'to' address",
                            "The 'to' address should be in E.164 format.")

    def server_error(self, msg):
        return self._errors(500, "10007", "Unexpected error", "An unexpected error occured.")


# ---- Amazon SNS (query API, SigV4) ----


def _hmac(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def sigv4_check(req, access_key_id, secret, region, service="sns", absent=None):
    """Check req's AWS Signature Version 4, recomputed here: None when it
    is valid, else what is wrong. A header named in SignedHeaders but not
    in the request is wrong (AWS refuses it: "'expect' is named as a
    SignedHeader, but it does not exist in the HTTP request"), unless
    `absent` is a list: then its name is appended there and the signature
    is checked as if the header were sent empty, the way libcurl before
    8.3.0 signs the "Expect:" it was told to remove."""
    auth = req.header("authorization") or ""
    m = re.match(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                 r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return "Authorization %r is not AWS4-HMAC-SHA256" % auth
    key_id, day, reg, svc, signed, signature = m.groups()
    if (key_id, reg, svc) != (access_key_id, region, service):
        return "credential scope %s/%s/%s" % (key_id, reg, svc)
    amz_date = req.header("x-amz-date") or ""
    if not re.match(r"^\d{8}T\d{6}Z$", amz_date) or amz_date[:8] != day:
        return "X-Amz-Date %r" % amz_date
    names = signed.split(";")
    for need in ("host", "x-amz-date"):
        if need not in names:
            return "%s is not signed" % need
    if req.header("x-amz-security-token") and "x-amz-security-token" not in names:
        return "the security token is not signed"
    headers = []
    for n in names:
        values = req.headers.get_all(n)
        if not values and absent is None:
            return "signed header %s is missing" % n
        if not values:
            absent.append(n)
            values = [""]
        headers.append("%s:%s\n" % (n, ",".join(" ".join(v.split()) for v in values)))
    query = "&".join(sorted("%s=%s" % (urllib.parse.quote(k, safe="-_.~"),
                                       urllib.parse.quote(v, safe="-_.~"))
                            for k, vs in req.query.items() for v in vs))
    payload = req.header("x-amz-content-sha256") or hashlib.sha256(req.body).hexdigest()
    canonical = "\n".join([req.method, req.path, query, "".join(headers), signed, payload])
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    k = _hmac(("AWS4" + secret).encode("utf-8"), day)
    for part in (region, service, "aws4_request"):
        k = _hmac(k, part)
    if not hmac.compare_digest(hmac.new(k, to_sign.encode("utf-8"), hashlib.sha256).hexdigest(),
                               signature):
        return "the signature does not match"
    return None


class SNS(FakeProvider):
    name = "sns"
    XMLNS = "https://sns.amazonaws.com/doc/2010-03-31/"

    def __init__(self, secret, access_key_id="AKIAIOSFODNN7EXAMPLE", region="us-east-1",
                 session_token=None, tls=None):
        super().__init__(secret, tls)
        self.access_key_id = access_key_id
        self.region = region
        self.session_token = session_token
        # False: a header signed but not sent is noted in
        # unsent_signed_headers instead of refused (see sigv4_check).
        self.strict_signed_headers = True
        self.unsent_signed_headers = set()

    def parse(self, req, msg):
        self.check_common(req, msg, "/", "application/x-www-form-urlencoded")
        pairs = decode_form(req.body, self.problems, "sns request #%d" % req.index)
        f = msg.fields = form_dict(pairs, self.problems, "sns")
        for k in f:
            if k not in ("Action", "Version", "PhoneNumber", "Message") and \
                    not re.match(r"^MessageAttributes\.entry\.\d+\.(Name|Value\.DataType|"
                                 r"Value\.StringValue)$", k):
                self.problem(msg, "unknown field %s" % k)
        if f.get("Action") != "Publish" or f.get("Version") != "2010-03-31":
            self.problem(msg, "Action=%r Version=%r" % (f.get("Action"), f.get("Version")))
        msg.to, msg.text = f.get("PhoneNumber"), f.get("Message")
        attrs = self.attributes(f)
        msg.sender = attrs.get("AWS.SNS.SMS.SenderID") or attrs.get("AWS.MM.SMS.OriginationNumber")
        self.check_e164(msg, msg.to, "PhoneNumber")
        self.check_text(msg)
        if req.header("x-amz-security-token") != self.session_token:
            self.problem(msg, "X-Amz-Security-Token %r" % req.header("x-amz-security-token"))
        absent = None if self.strict_signed_headers else []
        why = sigv4_check(req, self.access_key_id, self.secret, self.region, absent=absent)
        if absent:
            self.unsent_signed_headers.update(absent)
        if why:
            self.problem(msg, "SigV4: " + why)
            return self._error(403, "Sender", "SignatureDoesNotMatch", "The request signature "
                               "we calculated does not match the signature you provided.")
        return None

    def attributes(self, f):
        """{Name: StringValue} of the MessageAttributes (DataType String)."""
        out = {}
        n = 1
        while "MessageAttributes.entry.%d.Name" % n in f:
            p = "MessageAttributes.entry.%d." % n
            if f.get(p + "Value.DataType") != "String":
                self.problems.append("sns: attribute %d has DataType %r"
                                     % (n, f.get(p + "Value.DataType")))
            out[f[p + "Name"]] = f.get(p + "Value.StringValue")
            n += 1
        return out

    def _xml(self, status, text):
        return S.Response(status, {"Content-Type": "text/xml"}, text)

    def _error(self, status, kind, code, message):
        return self._xml(status, '<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n'
                         '    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n'
                         '  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
                         % (self.XMLNS, kind, code, message.replace("&", "&amp;")
                            .replace("<", "&lt;"), self.new_uuid()))

    def ok(self, msg):
        msg.id = self.new_uuid()
        return self._xml(200, '<PublishResponse xmlns="%s">\n  <PublishResult>\n'
                         '    <MessageId>%s</MessageId>\n  </PublishResult>\n'
                         '  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n'
                         '  </ResponseMetadata>\n</PublishResponse>\n'
                         % (self.XMLNS, msg.id, self.new_uuid()))

    def throttle(self, msg, retry_after):
        # AWS's query APIs say "Throttling" with a 400.
        return self._error(400, "Sender", "Throttling", "Rate exceeded")

    def invalid_number(self, msg):
        return self._error(400, "Sender", "InvalidParameter", "Invalid parameter: PhoneNumber "
                           "Reason: %s is not valid to publish to" % msg.to)

    def server_error(self, msg):
        return self._error(500, "Receiver", "InternalError", "Internal error")


# ---- a generic HTTP gateway ----


class Generic(FakeProvider):
    """A gateway of one's own: `fields` maps the roles "to", "from", "text"
    to the names of its fields (any other field is kept in msg.fields);
    auth_header, when given, must equal auth_value % secret; json: JSON
    body, else a form; method: POST or PUT."""

    name = "http"

    def __init__(self, secret, path="/send", json_body=True, method="POST",
                 fields=None, auth_header="Authorization", auth_value="Bearer %s", tls=None):
        super().__init__(secret, tls)
        self.path = path
        self.json_body = json_body
        self.method = method
        self.roles = fields or {"to": "to", "from": "from", "text": "text"}
        self.auth_header = auth_header
        self.auth_value = auth_value

    def parse(self, req, msg):
        ctype = "application/json" if self.json_body else "application/x-www-form-urlencoded"
        self.check_common(req, msg, self.path, ctype, self.method)
        if self.json_body:
            try:
                f = json.loads(req.body)
            except ValueError:
                self.problem(msg, "the body is not JSON")
                f = {}
        else:
            f = form_dict(decode_form(req.body, self.problems, "http request #%d" % req.index),
                          self.problems, "http")
        msg.fields = f
        msg.to = f.get(self.roles["to"])
        msg.sender = f.get(self.roles.get("from", ""))
        msg.text = f.get(self.roles["text"])
        self.check_e164(msg, msg.to, "to")
        self.check_text(msg)
        if self.auth_header and req.header(self.auth_header) != self.auth_value % self.secret:
            self.problem(msg, "%s: %r" % (self.auth_header, req.header(self.auth_header)))
            return S.Response(401, {"Content-Type": "application/json"},
                              '{"error":"unauthorized"}')
        return None

    def ok(self, msg):
        msg.id = "gw-%06d" % self._next_serial()
        body = {"messages": [{"id": msg.id, "to": msg.to, "status": "accepted"}]}
        return S.Response(200, {"Content-Type": "application/json"}, json.dumps(body))

    def throttle(self, msg, retry_after):
        return S.Response(429, dict({"Content-Type": "application/json"},
                                    **({"Retry-After": retry_after} if retry_after else {})),
                          '{"error":"slow down"}')

    def invalid_number(self, msg):
        return S.Response(422, {"Content-Type": "application/json"},
                          '{"error":"invalid number"}')

    def server_error(self, msg):
        return S.Response(502, {"Content-Type": "text/plain"}, "Bad Gateway")
