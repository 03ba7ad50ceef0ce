"""Shared helpers for the Python CLI tests of the pca programs.

Small functions, so that every suite (pca-render, pca-webhook, pca-send-sms,
pca-send-email...) can take what it needs and add its own local servers here:

- where things are: source_dir(), build_dir(), program(name), golden_path();
- running a program: run(argv, stdin=b"", env=None) -> (rc, stdout bytes,
  stderr text), with an environment in which the user's own configuration
  never leaks in (clean_env);
- scratch space: TempDirCase (a unittest.TestCase with self.tmp), write_file,
  write_config;
- golden files: check_golden(test, name, data) compares byte for byte, or
  rewrites the file when PCA_UPDATE_GOLDEN=1;
- records: load_jsonl, dump_record.

Run by Debian's /usr/bin/python3; environment from meson: PCA_BUILD_DIR,
PCA_SOURCE_DIR, PCA_SHARED_DIR.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

# ---- where things are ----


def source_dir():
    """The project's source tree: $PCA_SOURCE_DIR, else two levels above us."""
    env = os.environ.get("PCA_SOURCE_DIR")
    if env:
        return os.path.abspath(env)
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    """The meson build directory: $PCA_BUILD_DIR, else <source>/build."""
    env = os.environ.get("PCA_BUILD_DIR")
    return os.path.abspath(env) if env else os.path.join(source_dir(), "build")


# How much of the long, randomised and big-input tests to run: 1 (default) is
# all of it; scripts/test runs the sanitizer build at a fraction, since each
# program start and every byte cost many times more there.
SCALE = float(os.environ.get("PCA_TEST_SCALE", "1"))


def scale(n, least=1):
    """n scaled by PCA_TEST_SCALE, at least `least`."""
    return max(least, int(n * SCALE))


def program(name):
    """The path of a built program of cmd/, e.g. program("pca-render")."""
    return os.path.join(build_dir(), "cmd", name)


def source_path(*parts):
    return os.path.join(source_dir(), *parts)


def golden_path(*parts):
    """A file under tests/golden/."""
    return source_path("tests", "golden", *parts)


# ---- running programs ----

# Variables through which a user's own setup could change what a program
# does; a test sets the ones it wants explicitly.
LEAKY_VARS = ("PCA_CONFIG", "XDG_CONFIG_HOME", "HOME", "TZ", "LANG", "LANGUAGE", "LC_ALL",
              "LC_CTYPE", "LC_TIME", "LC_MESSAGES")


def clean_env(home, **extra):
    """An environment for a program under test: HOME and XDG_CONFIG_HOME in
    `home` (a scratch directory), no PCA_CONFIG, the C.UTF-8 locale, UTC.
    Keyword arguments add or override variables; a value of None removes one."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKY_VARS}
    env.update({
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
    })
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run(argv, stdin=b"", env=None, cwd=None, timeout=120, stdout=subprocess.PIPE):
    """Run argv with `stdin` bytes (or a file object) and return
    (rc, stdout bytes, stderr text). rc is negative when a signal killed the
    program (subprocess's convention). stderr is decoded as UTF-8 with
    invalid bytes replaced: messages may quote raw input."""
    kw = {"input": stdin} if isinstance(stdin, (bytes, bytearray)) else {"stdin": stdin}
    p = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=cwd,
                       timeout=timeout, **kw)
    return p.returncode, p.stdout if p.stdout is not None else b"", \
        p.stderr.decode("utf-8", "replace")


def stderr_lines(err):
    """The non-empty lines of a program's stderr."""
    return [line for line in err.split("\n") if line]


# ---- scratch space ----


class TempDirCase(unittest.TestCase):
    """A TestCase with a fresh scratch directory self.tmp (removed afterwards)
    and an environment self.env built by clean_env for it."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="pca-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.env = clean_env(self.tmp)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)


def write_file(path, data, mode=0o644):
    """Write bytes or text (UTF-8) to path, creating directories; return path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def write_config(directory, text, name="config.yaml", mode=0o600):
    """Write a YAML configuration into directory and return its path. Private
    by default, so that inline secrets are accepted."""
    return write_file(os.path.join(directory, name), text, mode)


# ---- golden files ----


def update_golden():
    return os.environ.get("PCA_UPDATE_GOLDEN") == "1"


def check_golden(test, path, data):
    """Compare `data` (bytes) with the golden file at `path` byte for byte; with
    PCA_UPDATE_GOLDEN=1 rewrite the file instead. On a mismatch, say where the
    first difference is, and keep what we got under <build>/golden-got/ for a diff."""
    if update_golden():
        write_file(path, data)
        return
    if not os.path.exists(path):
        test.fail(f"{path}: no golden file (run with PCA_UPDATE_GOLDEN=1 to create it)")
    want = read_file(path)
    if want == data:
        return
    got = os.path.join(build_dir(), "golden-got",
                       os.path.relpath(os.path.abspath(path), golden_path()))
    write_file(got, data)
    n = next((i for i in range(min(len(want), len(data))) if want[i] != data[i]),
             min(len(want), len(data)))
    line = want.count(b"\n", 0, n) + 1
    test.fail(f"{path}: output differs from the golden file at byte {n} (line {line}):\n"
              f"  golden: {want[max(0, n - 40):n + 40]!r}\n"
              f"  got:    {data[max(0, n - 40):n + 40]!r}\n"
              f"what we got is in {got}; if the change is intended, regenerate with "
              f"PCA_UPDATE_GOLDEN=1 (see tests/golden/README.md)")


# ---- records ----


def load_jsonl(data):
    """Parse JSON Lines (bytes or str) into a list of values."""
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return [json.loads(line) for line in data.split("\n") if line.strip()]


def read_jsonl(path):
    """The lines of a JSON Lines file: a list of (raw line bytes without the
    newline, parsed value)."""
    out = []
    for raw in read_file(path).split(b"\n"):
        if raw.strip():
            out.append((raw, json.loads(raw)))
    return out


def dump_record(obj):
    """One JSON Lines line (bytes, with the newline), UTF-8 kept as it is."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"

def check_records(test, records, out, actions):
    """Every input record comes out exactly once, in input order, with its
    fields kept and one entry appended per action (actions: ids, or a list
    of ids per record). Returns, per record, {action_id: entry}."""
    got = load_jsonl(out)
    test.assertEqual([r.get("call_id") for r in got], [r["call_id"] for r in records],
                     "records lost, duplicated or out of order")
    per_record = bool(actions) and isinstance(actions[0], (list, tuple))
    result = []
    for i, (rec, o) in enumerate(zip(records, got)):
        before = rec.get("post_call_actions", [])
        now = o.get("post_call_actions", [])
        added = now[len(before):]
        test.assertEqual([e.get("action_id") for e in added],
                         list(actions[i] if per_record else actions), o["call_id"])
        kept = dict(o)
        if "post_call_actions" in rec:
            kept["post_call_actions"] = now[:len(before)]
        else:
            kept.pop("post_call_actions", None)
        test.assertEqual(kept, rec, "a field of the input record changed")
        result.append({e["action_id"]: e for e in added})
    return result


# ---- more records, programs in the background ----


def example_records():
    """The records of examples/calls.jsonl, parsed."""
    return [rec for _, rec in read_jsonl(source_path("examples", "calls.jsonl"))]


def numbered_records(n, prefix="call_t"):
    """n records made from the examples, in turn, each with its own call_id
    (prefix_00000, prefix_00001, ...): (list of records, JSON Lines bytes)."""
    base = example_records()
    recs = []
    for i in range(n):
        rec = json.loads(json.dumps(base[i % len(base)]))
        rec["call_id"] = "%s_%05d" % (prefix, i)
        recs.append(rec)
    return recs, b"".join(dump_record(r) for r in recs)


def start(argv, env=None, cwd=None, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
          stderr=subprocess.PIPE):
    """Start argv in the background (a subprocess.Popen), e.g. to kill it
    halfway; the caller waits for it."""
    return subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, env=env, cwd=cwd)
