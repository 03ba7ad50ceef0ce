"""Every program's options are the same everywhere they are listed.

For each program of cmd/meson.build, five lists of options must agree:

- its --help (the built program);
- its man page, the OPTIONS section of man/PROGRAM.1.scd;
- its bash completion and its zsh completion, written by completions/gen.py
  from completions/options.txt into a scratch directory (meson test does not
  rebuild them);
- getopt: the option tables and short option string in cmd/PROGRAM.c (and
  lib/tool_send.c, lib/tool.h for the senders), and the program itself,
  which must accept every option any of the lists names.

They must agree on the long options, on the short ones and which long option
each stands for, and on whether an option takes a value. A failure names each
option that differs and the lists it is in and missing from.

Environment: PCA_BUILD_DIR, PCA_SOURCE_DIR (set by meson).
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcatest  # noqa: E402

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
NONE, REQUIRED, OPTIONAL = "no value", "a value", "an optional value (--name=VALUE)"


def programs():
    """The programs cmd/meson.build builds."""
    text = pcatest.read_file(pcatest.source_path("cmd", "meson.build")).decode()
    m = re.search(r"^programs\s*=\s*\[(.*?)\]", text, re.M | re.S)
    return re.findall(r"'([^']+)'", m.group(1))


class Options:
    """One list's view of a program's options: long and short names, what
    value each takes (None: the list does not say), which long option each
    short one stands for, and the lines it could not read."""

    def __init__(self, where):
        self.where = where
        self.longs = {}
        self.shorts = {}
        self.pairs = {}
        self.unread = []

    def add(self, short, long, arg):
        if long:
            self.longs[long] = arg
        if short:
            self.shorts[short] = arg
        if short and long:
            self.pairs[short] = long


# ---- --help ----

HELP_ITEM = re.compile(r"(-[A-Za-z0-9]|--[a-z0-9][a-z0-9-]*)"
                       r"(?:\[=([A-Z][\w-]*)\]| ([A-Z][\w-]*)(?:\.\.\.)?)?")


def parse_help(text):
    """The option lines of --help: "  -c, --config FILE   text" or
    "      --now TIME   text", the names ending at two spaces."""
    o = Options("--help")
    for line in text.splitlines():
        m = re.match(r" {2,8}(-.*)$", line)
        if not m:
            continue
        items = re.split(r"\s{2,}", m.group(1), 1)[0].split(", ")
        got = [HELP_ITEM.fullmatch(i) for i in items]
        if not all(got):
            o.unread.append(line)
            continue
        arg = NONE
        for g in got:
            if g.group(2):
                arg = OPTIONAL
            elif g.group(3):
                arg = REQUIRED
        names = [g.group(1) for g in got]
        short = next((n for n in names if not n.startswith("--")), None)
        longs = [n for n in names if n.startswith("--")]
        for long in longs or [None]:
            o.add(short, long, arg)
    return o


def help_entry(text, option):
    """The lines of --help about one option: its own, and those that go on
    with its description."""
    lines, out = text.splitlines(), []
    for line in lines:
        m = re.match(r" {2,8}(-.*)$", line)
        if m:
            if out:
                break
            names = re.split(r"\s{2,}", m.group(1), 1)[0]
            if option in re.findall(r"--?[A-Za-z0-9][a-z0-9-]*", names):
                out.append(line)
        elif out and re.match(r" {9,}\S", line):
            out.append(line)
        elif out:
            break
    return "\n".join(out)


# ---- the man page ----

MAN_ITEM = re.compile(r"\*(-[A-Za-z0-9]|--[a-z0-9][a-z0-9-]*)\*(.*)")


def options_section(text):
    """The lines of the OPTIONS section of a scdoc page, or None."""
    lines = text.splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.strip() == "# OPTIONS")
    except StopIteration:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("# ")),
               len(lines))
    return lines[start + 1:end]


def parse_man(path):
    """The terms of the OPTIONS section: the lines at the left margin that
    start with an option, "*-c*, *--config* _file_"."""
    o = Options(os.path.relpath(path, pcatest.source_dir()))
    for line in options_section(pcatest.read_file(path).decode("utf-8")) or []:
        if not line.startswith("*-"):
            continue
        items = [MAN_ITEM.fullmatch(i.strip()) for i in line.split(", ")]
        if not all(items):
            o.unread.append(line)
            continue
        names = [(m.group(1), m.group(2).strip()) for m in items]
        i = 0
        while i < len(names):
            name, rest = names[i]
            nxt = names[i + 1] if i + 1 < len(names) else None
            if not name.startswith("--") and not rest and nxt and nxt[0].startswith("--"):
                short, (name, rest) = name, nxt
                i += 1
            else:
                short = None if name.startswith("--") else name
                name = name if name.startswith("--") else None
            o.add(short, name, OPTIONAL if rest.startswith("[=") else REQUIRED if rest else NONE)
            i += 1
    return o


# ---- the completions ----


def generate_completions(outdir):
    gen = pcatest.source_path("completions", "gen.py")
    table = pcatest.source_path("completions", "options.txt")
    p = subprocess.run([sys.executable, gen, table, outdir] + programs(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise AssertionError("completions/gen.py failed: " + p.stderr.decode())


BASH_DRIVER = r"""
source "$1" || exit 99
source "$2" || exit 98
shift 2
line=$1; shift
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE=$line; COMP_POINT=${#line}
spec=$(complete -p "$1") || exit 97
fn=${spec#*-F }; fn=${fn%% *}
"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


def bash_complete(script, words, cwd=None):
    """What bash-completion offers for the last of `words` (the command line
    split as bash splits it, "=" a word of its own), with the completion
    script loaded: a set of words."""
    line = " ".join(words).replace(" = ", "=").replace(" =", "=")
    p = subprocess.run(["bash", "-c", BASH_DRIVER, "bash", BASH_COMPLETION, script, line] + words,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, timeout=30)
    if p.returncode != 0 or p.stderr:
        raise AssertionError(f"bash completion {script} for {words}: exit {p.returncode}: "
                             f"{p.stderr.decode()}")
    return {w for w in p.stdout.decode().split("\n") if w}


def parse_bash(script, name):
    o = Options("bash completion")
    for w in bash_complete(script, [name, "-"]):
        o.add(None if w.startswith("--") else w, w if w.startswith("--") else None, None)
    return o


ZSH_SPEC = re.compile(r"(?:\([^)]*\))?\*?(-[A-Za-z0-9]|--[a-z0-9][a-z0-9-]*)(=-|=|\+)?"
                      r"(?:(?<!\\)\[((?:[^]\\]|\\.)*)\])(?:(::?)[^:]*:.*)?")


def zsh_words(script):
    """The words of a zsh completion file, as the shell reads them."""
    text = pcatest.read_file(script).decode().replace("\\\n", " ")
    return shlex.split(text, comments=True)


def parse_zsh(script):
    """The option specs of the _arguments call, and their value."""
    o = Options("zsh completion")
    words = zsh_words(script)
    if not words or words[0] != "_arguments":
        o.unread.append(" ".join(words)[:200])
        return o
    prev = None
    for spec in words[1:]:
        if spec in ("-s", "-S") or spec.startswith(":") or spec.startswith("*:"):
            continue
        m = ZSH_SPEC.fullmatch(spec)
        if not m:
            o.unread.append(spec)
            continue
        name, how, desc, colons = m.groups()
        arg = NONE if not colons else OPTIONAL if colons == "::" else REQUIRED
        if name.startswith("--"):
            # gen.py writes a short option's spec just before its long one's
            short = prev[0] if prev and prev[1] == desc else None
            o.add(short, name, arg)
        else:
            o.add(name, None, arg)
        prev = (name, desc) if not name.startswith("--") else None
    return o


# ---- getopt: the source, then the program ----

C_OPTION = re.compile(r'\{\s*"([a-z0-9-]+)",\s*(no|required|optional)_argument,\s*NULL,\s*'
                      r"([^}]*?)\s*\}")
ARGS = {"no": NONE, "required": REQUIRED, "optional": OPTIONAL}


def c_table(text, name=None):
    """The entries of the `struct option` table called name (or of every
    table) in C source text."""
    if name:
        m = re.search(re.escape(name) + r"\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
        text = m.group(1) if m else ""
    return C_OPTION.findall(text)


def parse_getopt(name):
    """Read the program's getopt_long tables and short option string."""
    src = pcatest.read_file(pcatest.source_path("cmd", name + ".c")).decode()
    o = Options(f"getopt (cmd/{name}.c)")
    entries = c_table(src)
    if "pca_send_parse_args" in src:
        o.where = f"getopt (cmd/{name}.c, lib/tool_send.c)"
        shared = pcatest.read_file(pcatest.source_path("lib", "tool_send.c")).decode()
        entries = c_table(shared, "pca_send_longopts") + entries
    m = re.search(r'getopt_long\(\s*argc,\s*argv,\s*("[^"]*"|\w+)', src)
    # The senders' loop is pca_send_parse_args, with the shared short options.
    optstring = m.group(1) if m else "PCA_SEND_SHORTOPTS" if "pca_send_parse_args" in src else ""
    if not optstring.startswith('"'):
        tool_h = pcatest.read_file(pcatest.source_path("lib", "tool.h")).decode()
        d = re.search(r"#define\s+" + re.escape(optstring) + r'\s+"([^"]*)"', tool_h)
        optstring = d.group(1) if d else ""
    optstring = optstring.strip('"').lstrip(":+-")
    for c, colons in re.findall(r"([A-Za-z0-9])(:{0,2})", optstring):
        o.add("-" + c, None, {"": NONE, ":": REQUIRED, "::": OPTIONAL}[colons])
    for long, has, val in entries:
        o.add(None, "--" + long, ARGS[has])
        v = re.fullmatch(r"'(.)'", val)
        if v and "-" + v.group(1) in o.shorts:
            o.pairs["-" + v.group(1)] = "--" + long
    return o


def probe(name, option, arg, env, cwd):
    """Try one option on the program: "unknown", or the value it takes
    (NONE, REQUIRED, OPTIONAL). Each run stops in getopt or at --help when the
    option is what `arg` expects; only a wrong expectation lets the program
    run, with no input, no configuration and a scratch directory."""
    exe = pcatest.program(name)
    unknown = re.compile(r"unknown (or ambiguous )?option " + re.escape(option) + r"\b")
    needs = f"option {option} needs a value"

    def go(*argv):
        rc, out, err = pcatest.run([exe] + list(argv), stdin=subprocess.DEVNULL, env=env,
                                   cwd=cwd, timeout=30)
        if unknown.search(err):
            raise LookupError
        return rc, err

    def attached():
        # --name=x, for an option known to exist: refused when it takes no
        # value (pca-verify says "unknown or ambiguous option" then)
        try:
            return NONE if "takes no value" in go(option + "=x", "--help")[1] else OPTIONAL
        except LookupError:
            return NONE

    try:
        if arg == REQUIRED:
            # last on the line: getopt refuses it for want of its value
            if needs in go(option)[1]:
                return REQUIRED
            return attached() if option.startswith("--") else NONE
        rc, err = go(option, "-h" if option[1] != "-" else "--help")
        if rc != 0:
            return REQUIRED
        return attached() if option.startswith("--") else NONE
    except LookupError:
        return "unknown"


# ---- the comparisons ----


def describe(name, present, absent):
    return (f"  {name}: in {', '.join(present)}; missing from {', '.join(absent)}")


def set_mismatches(lists, attr):
    """Lines naming each option that is not in every list."""
    everything = set()
    for o in lists:
        everything |= set(getattr(o, attr))
    out = []
    for name in sorted(everything):
        present = [o.where for o in lists if name in getattr(o, attr)]
        absent = [o.where for o in lists if name not in getattr(o, attr)]
        if absent:
            out.append(describe(name, present, absent))
    return out


class OptionsAgree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pca-options-")
        cls.env = pcatest.clean_env(cls.tmp)
        cls.completions = os.path.join(cls.tmp, "completions")
        generate_completions(cls.completions)
        cls.have_bash = os.path.exists(BASH_COMPLETION) and shutil.which("bash") is not None
        cls.views = {}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def man_path(self, name):
        return pcatest.source_path("man", name + ".1.scd")

    def help_text(self, name):
        rc, out, err = pcatest.run([pcatest.program(name), "--help"], env=self.env)
        self.assertEqual(rc, 0, f"{name} --help: exit {rc}: {err}")
        return out.decode("utf-8")

    def lists(self, name):
        """Every available list of the program's options; the man page only
        when it has an OPTIONS section (test_*_man_page says when not)."""
        if name in self.views:
            return self.views[name]
        lists = [parse_help(self.help_text(name))]
        man = self.man_path(name)
        if os.path.exists(man) and options_section(pcatest.read_file(man).decode("utf-8")):
            lists.append(parse_man(man))
        if self.have_bash:
            lists.append(parse_bash(os.path.join(self.completions, name), name))
        lists.append(parse_zsh(os.path.join(self.completions, "_" + name)))
        lists.append(parse_getopt(name))
        self.views[name] = lists
        return lists

    def check_unread(self, name, lists):
        for o in lists:
            self.assertEqual(o.unread, [], f"{name}: lines of {o.where} that look like options "
                             f"but could not be read:\n" + "\n".join(o.unread))

    # -- one test of each kind per program, made below --

    def check_man_page(self, name):
        path = self.man_path(name)
        rel = os.path.relpath(path, pcatest.source_dir())
        if not os.path.exists(path):
            self.fail(f"{rel}: missing: {name} has no man page")
        section = options_section(pcatest.read_file(path).decode("utf-8"))
        if section is None:
            self.fail(f"{rel}: no \"# OPTIONS\" section (a placeholder?)")
        self.assertTrue(parse_man(path).longs, f"{rel}: no options under OPTIONS")
        man_pages = pcatest.read_file(pcatest.source_path("man", "meson.build")).decode()
        self.assertIn(f"'{name}.1'", man_pages, f"man/meson.build: {name}.1 is not in "
                      "man_pages, so it is neither built nor installed")

    maxDiff = None

    def check_long_options(self, name):
        lists = self.lists(name)
        self.check_unread(name, lists)
        bad = set_mismatches(lists, "longs")
        self.assertEqual(bad, [], f"{name}: the long options differ:\n" + "\n".join(bad))

    def check_short_options(self, name):
        lists = self.lists(name)
        bad = set_mismatches(lists, "shorts")
        pairs = [o for o in lists if o.where != "bash completion"]
        for short in sorted(set().union(*(o.pairs for o in pairs))):
            says = {o.where: o.pairs.get(short, "nothing") for o in pairs if short in o.shorts}
            if len(set(says.values())) > 1:
                bad.append(f"  {short} stands for: " +
                           "; ".join(f"{v} in {w}" for w, v in says.items()))
        self.assertEqual(bad, [], f"{name}: the short options differ:\n" + "\n".join(bad))

    def check_values(self, name):
        lists = [o for o in self.lists(name) if o.where != "bash completion"]
        bad = []
        for attr in ("longs", "shorts"):
            for opt in sorted(set().union(*(getattr(o, attr) for o in lists))):
                says = {o.where: getattr(o, attr)[opt] for o in lists if opt in getattr(o, attr)}
                if len(set(says.values())) > 1:
                    bad.append(f"  {opt} takes: " + "; ".join(f"{v} in {w}"
                                                              for w, v in says.items()))
        self.assertEqual(bad, [], f"{name}: the options differ in the values they take:\n" +
                         "\n".join(bad))

    def check_accepted(self, name):
        """The program accepts every option any list names, taking the value
        its getopt table says."""
        lists = self.lists(name)
        table = lists[-1]
        bad = []
        for attr in ("longs", "shorts"):
            for opt in sorted(set().union(*(getattr(o, attr) for o in lists))):
                where = [o.where for o in lists if opt in getattr(o, attr)]
                expect = getattr(table, attr).get(opt) or next(
                    (getattr(o, attr)[opt] for o in lists if getattr(o, attr).get(opt)), NONE)
                got = probe(name, opt, expect, self.env, self.tmp)
                if got == "unknown":
                    bad.append(f"  {opt} (in {', '.join(where)}): {name} says \"unknown "
                               f"option {opt}\"")
                elif opt in getattr(table, attr) and got != expect:
                    bad.append(f"  {opt}: takes {got} when run, {expect} in {table.where}")
        self.assertEqual(bad, [], f"{name}: getopt does not take every listed option:\n" +
                         "\n".join(bad))


def _make(kind, name):
    def test(self):
        getattr(self, "check_" + kind)(name)
    test.__name__ = f"test_{name.replace('-', '_')}_{kind}"
    test.__doc__ = f"{name}: {kind.replace('_', ' ')}"
    return test


for _name in programs():
    for _kind in ("man_page", "long_options", "short_options", "values", "accepted"):
        _t = _make(_kind, _name)
        setattr(OptionsAgree, _t.__name__, _t)


class CompletionValues(unittest.TestCase):
    """What the completions offer after an option: its fixed set of values,
    or the right kind of file."""

    FIXED = [
        ("pca-render", ["-f"], "sms email webhook"),
        ("pca-render", ["--format"], "sms email webhook"),
        ("pca-webhook", ["--status"], "pending leased due done dead"),
        ("pca-send-sms", ["--status"], "pending leased due done dead"),
        ("pca-send-email", ["--status"], "pending leased due done dead"),
        ("pca-verify", ["--scheme"], "standard stripe github twilio"),
        ("pca-verify", ["-s"], "standard stripe github twilio"),
        ("pca-send-email", ["--tls"], "required optional none"),
        ("pca-send-sms", ["--provider"], "twilio vonage telnyx"),
    ]
    FILES = ["a.yaml", "b.yml", "c.jsonl", "d.json", "e.pem", "f.crt", "g.txt"]
    KINDS = [
        ("pca-render", ["-c"], {"a.yaml", "b.yml"}),
        ("pca-webhook", ["--config", "="], {"a.yaml", "b.yml"}),
        ("pca-render", ["-q"], {"c.jsonl", "d.json"}),
        ("pca-send-sms", [], {"c.jsonl", "d.json"}),
        ("pca-webhook", ["--spool"], set(FILES)),
        ("pca-send-email", ["--cacert"], {"e.pem", "f.crt"}),
        ("pca-webhook", ["--cacert", "="], {"e.pem", "f.crt"}),
        ("pca-verify", ["-f"], set(FILES)),
        ("pca-verify", [], set(FILES)),
        ("pca-send-email", ["--sendmail", "="], set(FILES)),
        ("pca-send-email", ["--sendmail"], {"c.jsonl", "d.json"}),
        ("pca-render", ["--action"], set()),
    ]

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pca-options-")
        cls.completions = os.path.join(cls.tmp, "completions")
        generate_completions(cls.completions)
        cls.files = os.path.join(cls.tmp, "files")
        for f in cls.FILES:
            pcatest.write_file(os.path.join(cls.files, f), "")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def setUp(self):
        if not os.path.exists(BASH_COMPLETION):
            self.skipTest(f"{BASH_COMPLETION} missing: apt-get install bash-completion")

    def test_fixed_values_bash(self):
        for name, words, want in self.FIXED:
            with self.subTest(program=name, option=words):
                got = bash_complete(os.path.join(self.completions, name), [name] + words + [""])
                self.assertEqual(got, set(want.split()))

    def test_fixed_values_zsh(self):
        for name, words, want in self.FIXED:
            with self.subTest(program=name, option=words):
                specs = [s for s in zsh_words(os.path.join(self.completions, "_" + name))
                         if re.match(r"(\([^)]*\))?" + re.escape(words[0]) + r"[=+\[]", s)]
                self.assertTrue(specs, f"_{name}: no spec for {words[0]}")
                for s in specs:
                    self.assertTrue(s.endswith(f":({want})"), f"_{name}: {s}")

    def test_values_are_in_the_help(self):
        """Each fixed value is a word of the option's line in --help."""
        env = pcatest.clean_env(self.tmp)
        for name, words, want in self.FIXED:
            with self.subTest(program=name, option=words):
                rc, out, err = pcatest.run([pcatest.program(name), "--help"], env=env)
                entry = help_entry(out.decode(), words[0])
                self.assertTrue(entry, f"{name} --help: no line for {words[0]}")
                for w in want.split():
                    self.assertRegex(entry, r"\b" + w + r"\b", f"{name} --help: {words[0]}")

    def test_file_kinds_bash(self):
        for name, words, want in self.KINDS:
            with self.subTest(program=name, words=words):
                got = bash_complete(os.path.join(self.completions, name), [name] + words + [""],
                                    cwd=self.files)
                self.assertEqual(got, want)

    def test_zsh_syntax(self):
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed")
        for name in programs():
            with self.subTest(program=name):
                p = subprocess.run(["zsh", "-n", os.path.join(self.completions, "_" + name)],
                                   stderr=subprocess.PIPE)
                self.assertEqual((p.returncode, p.stderr), (0, b""))


if __name__ == "__main__":
    unittest.main()
