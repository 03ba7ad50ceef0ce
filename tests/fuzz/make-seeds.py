#!/usr/bin/python3
"""Write the seed corpora tests/fuzz/corpus/NAME/ from the project's own
examples and test data (and the Mustache specification's templates, found in
$PCA_SHARED_DIR or ../shared). Run it again after changing the formats of the
targets; it replaces the seeds it writes and leaves other files alone.

    tests/fuzz/make-seeds.py
"""
import glob
import hashlib
import json
import os
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("PCA_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
SEP = b"\n====\n"


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def one_line(path):
    """The record of a tests/data/records file, as a JSON Lines line."""
    rec = json.load(open(path))["record"]
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":"))


def record():
    for p in sorted(glob.glob(os.path.join(ROOT, "tests/data/records/valid/*.json"))):
        put("record", "valid-" + os.path.basename(p)[:-5], one_line(p))
    invalid = sorted(glob.glob(os.path.join(ROOT, "tests/data/records/invalid/*.json")))
    for p in invalid[::6]:
        put("record", "invalid-" + os.path.basename(p)[:-5], one_line(p))
    lines = read("examples/calls.jsonl").splitlines()
    for i in (0, 5, 12):
        put("record", "example-%d" % i, lines[i])
    base = json.loads(lines[0])
    # \ud836\udc00 is U+1D800, a pair json-c 0.16 mangles: the rewrite's case
    put("record", "escaped-pair", json.dumps(dict(base, summary="\U0001D800 ok \u00e9")
                                             ).replace("\\ud836\\udc00", "\\ud836\\udc00"))
    put("record", "escapes", '{"a":"\\u0000\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"}')
    put("record", "bad-utf8", b'{"call_id":"\xc0\xafx","s":"\xed\xa0\x80"}')
    put("record", "crlf", lines[1] + b"\r")


def config():
    put("config", "example", read("examples/config.yaml"))
    put("config", "builtin", read("lib/defaults/config.yaml"))
    put("config", "full", """timezone: Europe/Berlin
region: DE
contacts: contacts.vcf
credits: {sms_segment: 0.5, email_recipient: 0.1}
templates: {sms: sms.mustache, email_subject: subject.mustache}
spool: spool.db
allow_networks: [10.0.0.0/8, "fd00::/8"]
allow_http: true
cacert: ca.pem
actions:
  - id: owner-sms
    type: sms
    to: ["+4915112345678", "+14155550100"]
    from: "+14155550199"
    max_segments: 3
    rate: 1.5
    provider: twilio
    twilio: {account_sid: AC0123456789abcdef0123456789abcdef, auth_token_env: TWILIO_TOKEN}
    when: {status: [completed, voicemail], min_duration: 10s, direction: inbound, contact: true}
  - id: vonage-sms
    type: sms
    to: "+447700900123"
    from: Acme
    provider: vonage
    vonage: {api_key: k, api_secret_file: crm.whsec}
  - id: gw
    type: sms
    to: "+14155550100"
    provider: http
    http:
      url: https://gw.example/send
      method: PUT
      headers: {X-Key: "{{secret}}"}
      json: {to: "{{to}}", text: "{{text}}"}
      secret_env: GW_KEY
      message_id: id
  - id: office
    type: email
    from: Acme Calls <calls@acme.example>
    to: owner@acme.example
    cc: ["\\"Lee, Dana\\" <dana@example.com>"]
    bcc: [audit@acme.example]
    reply_to: office@acme.example
    list_id: Calls <calls.acme.example>
    smtp: {url: "smtp://127.0.0.1:587", tls: required, user: u, password_file: crm.whsec}
  - id: local-mail
    type: email
    from: pca@localhost
    to: owner@localhost
    sendmail: /usr/sbin/sendmail
  - id: crm
    type: webhook
    url: https://crm.example/hooks
    secret_file: crm.whsec
    timeout: 5s
""")
    put("config", "flow", 'actions:\n  - {id: a, type: sms, to: "+14155550100", '
        'provider: telnyx, telnyx: {api_key_env: K, messaging_profile_id: p}}\n'
        '  - {id: b, type: sms, to: "+14155550100", provider: sns, '
        'sns: {region: eu-west-1, access_key_id: AKIA, secret_access_key_env: S}}\n')
    put("config", "anchors", "base: &b {type: webhook, url: \"https://x.example\"}\n"
        "actions:\n  - <<: *b\n    id: a\n  - *b\n")
    put("config", "errors", "region: US\nregion: DE\ntimezone: Mars/Base\nactions: [\n")


def template():
    data = one_line(os.path.join(ROOT, "tests/data/records/valid/base.json")).encode()
    for p in sorted(glob.glob(os.path.join(ROOT, "lib/defaults/*.mustache"))):
        put("template", "default-" + os.path.basename(p)[:-9], read(p) + SEP + data)
    spec = os.path.join(SHARED, "mustache-spec")
    for mod in ("comments", "delimiters", "interpolation", "inverted", "partials", "sections"):
        path = os.path.join(spec, mod + ".json")
        if not os.path.exists(path):
            print("make-seeds: no %s, skipping the spec seeds" % path, file=sys.stderr)
            return
        for i, t in enumerate(json.load(open(path))["tests"]):
            blob = t["template"].encode() + SEP + json.dumps(t["data"]).encode()
            for name, src in sorted(t.get("partials", {}).items()):
                blob += SEP + name.encode() + b"\n" + src.encode()
            put("template", "spec-%s-%02d" % (mod, i), blob)
    put("template", "recursive", b"{{>node}}" + SEP +
        b'{"content":"X","nodes":[{"content":"Y","nodes":[]}]}' + SEP +
        b"node\n{{content}}<{{#nodes}}{{>node}}{{/nodes}}>")


def verify():
    seen = set()
    for f in ("standard", "stripe", "github", "twilio", "v1a"):
        vecs = json.load(open(os.path.join(ROOT, "tests/data/vectors/%s.json" % f)))["vectors"]
        for i, v in enumerate(vecs):
            scheme = ["standard", "stripe", "github", "twilio"].index(v["scheme"])
            sel = scheme | (4 if f == "v1a" else 0) | 0x10
            body = v.get("body")
            if body is None and "params" in v:
                body = urllib.parse.urlencode([tuple(p) for p in v["params"]])
            blob = bytes([sel]) + "\n".join([
                v.get("id", "") or "", str(v.get("timestamp", "") or ""),
                v.get("signature", "") or "", v.get("url", "") or "", body or ""]).encode()
            h = hashlib.sha1(blob).hexdigest()[:8]
            if h not in seen and i < 12:
                seen.add(h)
                put("verify", "%s-%02d" % (f, i), blob)


def verify_request():
    std = json.load(open(os.path.join(ROOT, "tests/data/vectors/standard.json")))["vectors"][0]
    body = std["body"]
    req = ("POST /hooks HTTP/1.1\r\nHost: crm.example\r\nContent-Type: application/json\r\n"
           "Content-Length: %d\r\nwebhook-id: %s\r\nwebhook-timestamp: %s\r\n"
           "webhook-signature: %s\r\n\r\n%s" % (len(body), std["id"], std["timestamp"],
                                                std["signature"], body))
    put("verify-request", "request-standard", b"\x00" + req.encode())
    put("verify-request", "headers-svix", b"\x08svix-id: %s\nsvix-timestamp: %s\n"
        b"svix-signature: %s\n  v1,folded\n" % (std["id"].encode(), std["timestamp"].encode(),
                                               std["signature"].encode()))
    put("verify-request", "request-stripe", b"\x01POST /s HTTP/1.1\r\nStripe-Signature: "
        b"t=1614265330,v1=00\r\nTransfer-Encoding: identity\r\n\r\n{}")
    put("verify-request", "headers-github", b"\x02X-Hub-Signature: sha1=00\r\n"
        b"X-Hub-Signature-256: sha256=00\r\n\r\nbody")
    put("verify-request", "request-twilio", b"\x03POST /t?a=1 HTTP/1.1\r\n"
        b"X-Twilio-Signature: RSOYDt4T1cUTdK1PDd93/VVr8B8=\r\n\r\nTo=%2B1&From=%2B2")
    log = [
        {"at": "2021-02-25T15:02:10Z", "webhook_id": std["id"], "timestamp": int(std["timestamp"]),
         "signature": std["signature"], "body": body},
        {"at": "2021-02-25T15:02:10Z", "webhook_id": "x", "timestamp": "1614265330",
         "signature": "v1,AAAA", "body_sha256": "00"},
        {"webhook_id": None, "timestamp": [1]},
    ]
    text = "\n".join(json.dumps(e) for e in log) + "\nnot json\n\n"
    put("verify-request", "log", b"\x04" + text.encode())


def mime():
    put("mime", "ascii", "Call from Dana Lee (+1 415 555 0123), 4 min")
    put("mime", "utf8", "Anruf von Jürgen Weiß – 山田 花子 📞 🇩🇪 e\u0301")
    put("mime", "long", ("word " * 60) + "x" * 120 + " " + "é" * 40)
    put("mime", "controls", "  a\r\nb\tc\x00d\x7f e  \xff\xfe  ")
    put("mime", "qp", "line one \nFrom the start\r\n.\n=3D already \t\nlast ")
    put("mime", "ew-literal", "=?UTF-8?Q?not_encoded?= =?utf-8?B?w6k=?=")
    put("mime", "mailbox-quoted", '"Lee, Dana" <dana@example.com>')
    put("mime", "mailbox-utf8", "José García <jose@example.es>")
    put("mime", "mailbox-plain", "owner@acme.example")


def sms():
    put("sms", "gsm7", "Dana Lee called at 13:05 about the invoice. Call back: +1 415 555 0123")
    put("sms", "gsm7-ext", "Price: 5€ [approx] {see} ~ | \\ ^ and \f form feed" * 4)
    put("sms", "ucs2", "Звонок от Анны: перезвонить 😀👍🏽 👨‍👩‍👧 🇬🇧🇫🇷 e\u0301")
    put("sms", "long-gsm7", "a" * 152 + "€" + "b" * 160)
    put("sms", "long-ucs2", "я" * 66 + "😀" + "я" * 70)
    put("sms", "crlf", "one\r\ntwo\rthree\n")
    put("sms", "big-cluster", "a" + "\u0301" * 80 + "b" * 10)
    put("sms", "arabic", "ليلى حداد اتصلت بخصوص الموعد " * 3)


def contacts():
    for p in sorted(glob.glob(os.path.join(ROOT, "tests/data/contacts/*"))):
        name = os.path.basename(p)
        put("contacts", name, bytes([1 if name.endswith(".csv") else 2]) + open(p, "rb").read())
    put("contacts", "example.csv", b"\x01" + read("examples/contacts.csv"))
    put("contacts", "vcard21-qp", b"\x03\xef\xbb\xbfBEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen\r\n"
        b"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=C3=BC=\r\nller\r\n"
        b"TEL;CELL:0151 12345678\r\nTEL;HOME:+49 30 23125456\r\nEND:VCARD\r\n")


for f in (record, config, template, verify, verify_request, mime, sms, contacts):
    f()
