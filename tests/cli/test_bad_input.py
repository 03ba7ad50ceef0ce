"""The bad-input catalogue: tests/bad-input/cases.jsonl, one case a line.

Each case names a program, its arguments, an input built around the bad
part (good records before and after it), the exit status, a fragment of the
one-line message, and how many records (renderings) must still come out.
Every case also checks that the program did not crash or hang and that each
line it wrote on stderr starts with its own name.
"""
import copy
import email
import email.policy
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import pcatest as T  # noqa: E402

CASES = T.source_path("tests", "bad-input", "cases.jsonl")
GOOD = T.read_jsonl(T.source_path("examples", "calls.jsonl"))[1][1]


def line(rec):
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def set_path(rec, path, value):
    keys = path.split(".")
    cur = rec
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur.setdefault(k, {})
    last = keys[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value


def mutated(changes):
    """A good record with changes; "hex:..." values become raw bytes, so a
    test can put invalid UTF-8 inside a JSON string."""
    rec = copy.deepcopy(GOOD)
    raw = {}
    for i, (path, value) in enumerate(changes.items()):
        if isinstance(value, str) and value.startswith("hex:"):
            marker = "@@RAW%d@@" % i
            raw[marker.encode()] = bytes.fromhex(value[4:])
            value = marker
        if value == "eleven":
            value = [{"action_id": "a%d" % k, "type": "webhook", "status": "succeeded"}
                     for k in range(11)]
        set_path(rec, path, value)
    out = line(rec)
    for marker, data in raw.items():
        out = out.replace(marker, data)
    return out


def generated(spec):
    rec = copy.deepcopy(GOOD)
    rec["call_id"] = "call_generated"
    if spec["generate"] == "big_transcript":
        text = ("The caller spells out the order again. " * 1000)[:1_000_000]
        n = spec["bytes"] // len(text) + 1
        rec["transcript"] = [{"role": "caller", "text": text, "start_ms": i} for i in range(n)]
    else:
        rec["transcript"] = [{"role": "agent" if i % 2 else "caller", "text": "turn %d" % i,
                              "start_ms": i * 10} for i in range(spec["turns"])]
        rec["duration_ms"] = max(rec["duration_ms"], spec["turns"] * 10)
    return line(GOOD) + line(rec) + line(GOOD)


def build_input(spec):
    good = line(GOOD)
    if "bad" in spec:
        return good + spec["bad"].encode() + b"\n" + good
    if "bad_hex" in spec:
        return good + bytes.fromhex(spec["bad_hex"]) + b"\n" + good
    if "last" in spec:
        return good + good + spec["last"].encode()
    if "mutate" in spec:
        return good + mutated(spec["mutate"]) + good
    if "single" in spec:
        return mutated(spec["single"])
    if "generate" in spec:
        return generated(spec)
    if "good" in spec:
        return good * spec["good"]
    if "raw" in spec:
        return spec["raw"].encode()
    return b""


class BadInputTest(T.TempDirCase):
    pass


def make_test(case):
    def test(self):
        files = {}
        for name, text in case.get("files", {}).items():
            files[name] = os.path.join(self.tmp, name)
            T.write_file(files[name], text.encode())
        args = []
        for a in case["args"]:
            if a == "{config}":
                path = os.path.join(self.tmp, "config.yaml")
                T.write_file(path, case["config"].encode())
                os.chmod(path, int(case.get("config_mode", "0600"), 8))
                a = path
            elif a.startswith("{file:"):
                a = files[a[6:-1]]
            args.append(a)
        rejects = os.path.join(self.tmp, "rejects.jsonl")
        if case["program"] in ("pca-render", "pca-webhook") and case["exit"] == 65:
            args += ["--rejects", rejects]
        rc, out, err = T.run([T.program(case["program"])] + args, stdin=build_input(case["input"]),
                             env=self.env, cwd=self.tmp, timeout=case.get("timeout", 60))
        self.assertGreaterEqual(rc, 0, "killed by a signal: %s" % err)
        self.assertEqual(rc, case["exit"], err)
        if case["message"]:
            self.assertIn(case["message"], err)
            lines = [l for l in err.splitlines() if l]
            self.assertTrue(all(l.startswith(case["program"] + ":") for l in lines), err)
            self.assertEqual(len(lines), 1, "one line: " + err)
        if "records" in case:
            self.assertEqual(len(out.splitlines()), case["records"], err)
        if "html_has" in case or "html_lacks" in case:
            msg = email.message_from_bytes(out, policy=email.policy.default)
            html = msg.get_body(("html",)).get_content()
            self.assertIn(case.get("html_has", ""), html)
            self.assertNotIn(case.get("html_lacks", "\0"), html)
        if "output_lacks_line" in case:
            heads = out.split(b"\r\n\r\n")[0].split(b"\r\n")
            self.assertNotIn(case["output_lacks_line"].encode(), heads)
        if "secret_absent" in case:
            self.assertNotIn(case["secret_absent"], err)
            self.assertNotIn(case["secret_absent"].encode(), out)
        if case["exit"] == 65 and "bad" in case["input"]:
            self.assertEqual(T.read_file(rejects), case["input"]["bad"].encode() + b"\n")
    return test


for i, (_, case) in enumerate(T.read_jsonl(CASES)):
    name = "test_%02d_%s" % (i + 1, "".join(c if c.isalnum() else "_" for c in case["name"]))
    setattr(BadInputTest, name, make_test(case))


if __name__ == "__main__":
    unittest.main()
