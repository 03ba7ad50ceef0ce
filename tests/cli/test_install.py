"""`meson install` puts every program, man page and completion where it
belongs, and what it installs works.

The test configures a build directory of its own in a scratch directory
(meson setup --prefix=SCRATCH/prefix), builds only what is installed, and
installs it: nothing of the caller's build directory is used. Then:

- every program of cmd/meson.build is in bin/ and answers --version and
  --help;
- every man page of man/meson.build is in share/man/manN/, man finds it by
  name, and it renders (man -l) without a groff warning; every program has
  its page;
- the completions are where bash-completion (share/bash-completion/
  completions/PROGRAM, found through XDG_DATA_DIRS) and zsh
  (share/zsh/site-functions/_PROGRAM, on fpath) load them from;
- DESTDIR stages the same files under DESTDIR/prefix, as package builds use.

Environment: PCA_SOURCE_DIR (set by meson). Needs man-db; bash-completion and
zsh are used when installed.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcatest  # noqa: E402

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def meson_list(path, name):
    """The strings of the list `name = [...]` in a meson.build file."""
    text = pcatest.read_file(path).decode()
    m = re.search(r"^" + name + r"\s*=\s*\[(.*?)\]", text, re.M | re.S)
    return re.findall(r"'([^']+)'", m.group(1)) if m else []


def project_version():
    text = pcatest.read_file(pcatest.source_path("meson.build")).decode()
    return re.search(r"version:\s*'([^']+)'", text).group(1)


def check_run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: exit {p.returncode}\n"
                             f"{p.stdout.decode(errors='replace')[-3000:]}"
                             f"{p.stderr.decode(errors='replace')[-3000:]}")
    return p.stdout.decode(errors="replace")


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pca-install-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        cls.build = os.path.join(cls.tmp, "build")
        cls.env = pcatest.clean_env(cls.tmp)
        try:
            cls.install()
        except BaseException:
            shutil.rmtree(cls.tmp, True)
            raise

    @classmethod
    def install(cls):
        # buildtype=plain: no optimisation, to stay fast; the installed set
        # of files does not depend on it.
        check_run(["meson", "setup", "--prefix", cls.prefix, "-Dbuildtype=plain",
                   cls.build, pcatest.source_dir()])
        targets = json.loads(check_run(["meson", "introspect", "--targets", cls.build]))
        wanted = [os.path.relpath(f, cls.build) for t in targets if t["installed"]
                  for f in t["filename"]]
        check_run(["ninja", "-C", cls.build] + wanted)
        check_run(["meson", "install", "-C", cls.build, "--no-rebuild", "--quiet"])
        cls.staged = os.path.join(cls.tmp, "stage")
        check_run(["meson", "install", "-C", cls.build, "--no-rebuild", "--quiet",
                   "--destdir", cls.staged])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def installed(self):
        out = set()
        for d, _, files in os.walk(self.prefix):
            out |= {os.path.relpath(os.path.join(d, f), self.prefix) for f in files}
        return out

    # ---- programs ----

    def test_programs(self):
        programs = meson_list(pcatest.source_path("cmd", "meson.build"), "programs")
        self.assertTrue(programs)
        self.assertEqual(sorted(os.listdir(self.path("bin"))), sorted(programs))
        for p in programs:
            with self.subTest(program=p):
                exe = self.path("bin", p)
                self.assertTrue(os.access(exe, os.X_OK), f"{exe}: not executable")
                rc, out, err = pcatest.run([exe, "--version"], env=self.env)
                self.assertEqual(rc, 0, err)
                self.assertEqual(out.decode().split("\n")[0], f"{p} {project_version()}")
                rc, out, err = pcatest.run([exe, "--help"], env=self.env)
                self.assertEqual(rc, 0, err)
                self.assertTrue(out.startswith(b"usage: " + p.encode()), out[:80])

    def test_installed_programs_work(self):
        """The installed pca-render renders a sample record with its built-in
        configuration: nothing points back into the build directory."""
        rec = pcatest.read_file(pcatest.source_path("examples", "calls.jsonl")).split(b"\n")[0]
        rc, out, err = pcatest.run([self.path("bin", "pca-render"), "-f", "sms"],
                                   stdin=rec + b"\n", env=self.env)
        self.assertEqual(rc, 0, err)
        line = json.loads(out)
        self.assertEqual(line["format"], "sms")
        self.assertGreaterEqual(line["segments"], 1)

    # ---- man pages ----

    def man_pages(self):
        return meson_list(pcatest.source_path("man", "meson.build"), "man_pages")

    def man_env(self):
        return dict(self.env, MANPATH=self.path("share", "man"), MANWIDTH="80", MANPAGER="cat",
                    PAGER="cat")

    def test_man_pages_installed(self):
        pages = self.man_pages()
        self.assertTrue(pages)
        installed = {f for f in self.installed() if f.startswith("share/man/")}
        want = {f"share/man/man{p.rsplit('.', 1)[1]}/{p}" for p in pages}
        self.assertEqual(installed, want)

    def test_man_pages_render(self):
        if not shutil.which("man"):
            self.fail("man is not installed: apt-get install man-db (scripts/setup does)")
        for page in self.man_pages():
            name, section = page.rsplit(".", 1)
            with self.subTest(page=page):
                f = self.path("share", "man", "man" + section, page)
                p = subprocess.run(["man", "--warnings", "-l", f], env=self.man_env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                self.assertEqual(p.returncode, 0, p.stderr.decode())
                self.assertEqual(p.stderr.decode(), "", f"{page}: groff warnings")
                text = p.stdout.decode()
                self.assertIn("NAME", text)
                self.assertGreater(len(text.splitlines()), 10, f"{page}: nearly empty")
                # and man finds it by name in the prefix
                where = check_run(["man", "-w", section, name], env=self.man_env()).strip()
                self.assertEqual(os.path.realpath(where), os.path.realpath(f))

    def test_every_program_has_a_man_page(self):
        programs = meson_list(pcatest.source_path("cmd", "meson.build"), "programs")
        missing = [p for p in programs
                   if not os.path.exists(self.path("share", "man", "man1", p + ".1"))]
        self.assertEqual(missing, [], "programs without an installed man page (add "
                         "man/PROGRAM.1.scd and list it in man_pages of man/meson.build)")

    # ---- completions ----

    def test_completions_installed(self):
        programs = meson_list(pcatest.source_path("cmd", "meson.build"), "programs")
        bash = sorted(os.listdir(self.path("share", "bash-completion", "completions")))
        zsh = sorted(os.listdir(self.path("share", "zsh", "site-functions")))
        self.assertEqual(bash, sorted(programs))
        self.assertEqual(zsh, sorted("_" + p for p in programs))
        for p in programs:
            with self.subTest(program=p):
                head = pcatest.read_file(self.path("share", "zsh", "site-functions", "_" + p))
                self.assertTrue(head.startswith(f"#compdef {p}\n".encode()), head[:40])

    def test_bash_completion_loads_them(self):
        """bash-completion finds each program's file on demand, through
        XDG_DATA_DIRS, as it finds those of a prefix in a real session."""
        if not os.path.exists(BASH_COMPLETION):
            self.skipTest(f"{BASH_COMPLETION} missing: apt-get install bash-completion")
        programs = meson_list(pcatest.source_path("cmd", "meson.build"), "programs")
        script = f"source {BASH_COMPLETION}\n" + "".join(
            f"__load_completion {p} && complete -p {p}\n" for p in programs)
        env = dict(self.env, XDG_DATA_DIRS=self.path("share") + ":/usr/share",
                   BASH_COMPLETION_USER_DIR=os.path.join(self.tmp, "none"))
        out = check_run(["bash", "-c", script], env=env)
        for p in programs:
            self.assertRegex(out, r"complete -F \S+ " + re.escape(p) + r"\n")

    def test_zsh_loads_them(self):
        """compinit, with the prefix's site-functions on fpath, binds each
        program to its completion function."""
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed")
        programs = meson_list(pcatest.source_path("cmd", "meson.build"), "programs")
        dump = os.path.join(self.tmp, "zcompdump")
        script = (f"fpath=({self.path('share', 'zsh', 'site-functions')} $fpath)\n"
                  f"autoload -Uz compinit && compinit -u -d {dump}\n"
                  + "".join(f"print -r -- {p}=$_comps[{p}]\n" for p in programs))
        out = check_run(["zsh", "-f", "-c", script], env=self.env)
        for p in programs:
            self.assertIn(f"{p}=_{p}\n", out)

    # ---- DESTDIR ----

    def test_destdir(self):
        staged = os.path.join(self.staged, self.prefix.lstrip("/"))
        got = set()
        for d, _, files in os.walk(self.staged):
            got |= {os.path.relpath(os.path.join(d, f), staged) for f in files}
        self.assertEqual(got, self.installed())


if __name__ == "__main__":
    unittest.main()
