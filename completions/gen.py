#!/usr/bin/env python3
"""Write the bash and zsh completions of the pca programs from one table.

    gen.py TABLE OUTDIR PROGRAM...

For each PROGRAM, writes OUTDIR/PROGRAM (bash, installed as
share/bash-completion/completions/PROGRAM) and OUTDIR/_PROGRAM (zsh,
installed as share/zsh/site-functions/_PROGRAM). TABLE is options.txt,
whose header describes it. Every PROGRAM must have a section in the table,
and every program section must be named: a program added to cmd/ without
completions, or completions of a program that is gone, stop the build.
"""
import os
import re
import sys

# What to complete for each kind of value: bash code, and a zsh action.
FILE_KINDS = {
    "config": ("_filedir '@(yaml|yml)'", '_files -g "*.(yaml|yml)"'),
    "records": ("_filedir '@(jsonl|json)'", '_files -g "*.(jsonl|json)"'),
    "file": ("_filedir", "_files"),
    "pem": ("_filedir '@(pem|crt)'", '_files -g "*.(pem|crt)"'),
    "env": ('COMPREPLY=($(compgen -e -- "$cur"))', '_parameters -g "*export*"'),
}
OPERAND_NAMES = {"records": "call records", "file": "file"}
# What zsh says it is completing, by kind of value; else the option's name.
MESSAGES = {"config": "configuration file", "records": "call records", "file": "file",
            "pem": "CA certificates", "env": "environment variable"}


class TableError(Exception):
    pass


class Option:
    def __init__(self, short, spec, value, desc, where):
        m = re.fullmatch(r"(--[a-z0-9][a-z0-9-]*)(?:(=)([A-Z][A-Z0-9_-]*)(\.\.\.)?|"
                         r"\[=([A-Z][A-Z0-9_-]*)\])?", spec)
        if not m or (short != "-" and not re.fullmatch(r"-[A-Za-z0-9]", short)):
            raise TableError(f"{where}: cannot read option {short} {spec}")
        self.short = None if short == "-" else short
        self.long = m.group(1)
        self.arg = "required" if m.group(2) else "optional" if m.group(5) else None
        self.metavar = m.group(3) or m.group(5)
        self.repeat = bool(m.group(4))
        self.value = value
        self.desc = desc
        if self.arg is None and value != "-":
            raise TableError(f"{where}: {self.long} takes no value, but says {value}")
        if value not in FILE_KINDS and value != "-" and "|" not in value:
            raise TableError(f"{where}: {self.long}: unknown value kind {value}")

    def names(self):
        return [n for n in (self.short, self.long) if n]

    def words(self):
        """The fixed set of values, or None."""
        return self.value.split("|") if "|" in self.value else None


class Program:
    def __init__(self, name):
        self.name = name
        self.options = []
        self.operands = None
        self.used = False   # a group of options that programs use


def read_table(path):
    """{section name: Program} from the table at path."""
    sections, cur = {}, None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            where = f"{path}:{n}"
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            m = re.fullmatch(r"\[([a-z0-9-]+)\]", line.strip())
            if m:
                if m.group(1) in sections:
                    raise TableError(f"{where}: [{m.group(1)}] again")
                cur = sections[m.group(1)] = Program(m.group(1))
                continue
            if cur is None:
                raise TableError(f"{where}: an option before any [section]")
            fields = line.split(None, 3)
            if fields[0] == "use" and len(fields) == 2:
                if fields[1] not in sections:
                    raise TableError(f"{where}: use {fields[1]}: no such group (yet)")
                cur.options += sections[fields[1]].options
                sections[fields[1]].used = True
            elif fields[0] == "operands" and len(fields) == 2:
                if fields[1] not in OPERAND_NAMES:
                    raise TableError(f"{where}: operands {fields[1]}: records or file")
                cur.operands = fields[1]
            elif len(fields) == 4:
                cur.options.append(Option(*fields, where))
            else:
                raise TableError(f"{where}: expected SHORT LONG VALUE DESCRIPTION")
    for p in sections.values():
        seen = set()
        for o in p.options:
            for name in o.names():
                if name in seen:
                    raise TableError(f"{path}: [{p.name}]: {name} twice")
                seen.add(name)
    return sections


# ---- bash ----


def bash_value(o):
    words = o.words()
    if words:
        return f"COMPREPLY=($(compgen -W '{' '.join(words)}' -- \"$cur\"))"
    return FILE_KINDS[o.value][0]


def bash_cases(options, indent="\t"):
    """case arms for the options whose value follows: same code, one arm."""
    arms = {}
    for o in options:
        arms.setdefault(bash_value(o) if o.value != "-" else "", []).extend(o.names())
    out = []
    for code, names in arms.items():
        out.append(f"{indent}{' | '.join(names)})")
        if code:
            out.append(f"{indent}\t{code}")
        out.append(f"{indent}\treturn")
        out.append(f"{indent}\t;;")
    return out


def bash(p):
    fn = "_" + p.name.replace("-", "_")
    required = [o for o in p.options if o.arg == "required"]
    optional = [o for o in p.options if o.arg == "optional"]
    words = " ".join(n for o in p.options for n in o.names())
    operands = FILE_KINDS[p.operands][0] if p.operands else "return"
    out = [
        f"# bash completion for {p.name}                  -*- shell-script -*-",
        "# Written by completions/gen.py from completions/options.txt: change those.",
        "",
        f"{fn}()",
        "{",
        "\tlocal cur prev words cword split i",
        "\t_init_completion -s || return",
        "",
    ]
    if optional:
        # --name[=ARG]: its value is only ever in the same word, after "=".
        out += ["\tif $split; then", "\t\tcase $prev in"]
        out += bash_cases(optional, "\t\t")
        out += ["\t\tesac", "\tfi"]
    out += ["\tcase $prev in"]
    out += bash_cases(required)
    out += [
        "\tesac",
        "\t$split && return",
        "",
        "\tfor ((i = 1; i < cword; i++)); do",
        "\t\t[[ ${words[i]} == -- ]] && break",
        "\tdone",
        "\tif [[ $cur == -* ]] && ((i == cword)); then",
        f"\t\tCOMPREPLY=($(compgen -W '{words}' -- \"$cur\"))",
        "\t\treturn",
        "\tfi",
        f"\t{operands}",
        "} &&",
        f"\tcomplete -F {fn} {p.name}",
        "",
        "# ex: filetype=sh",
    ]
    return "\n".join(out) + "\n"


# ---- zsh ----


def zsh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def zsh_desc(s):
    return s.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def zsh_action(o):
    words = o.words()
    if words:
        return "(" + " ".join(words) + ")"
    if o.value == "-":
        return " "
    return FILE_KINDS[o.value][1]


def zsh_specs(o):
    if o.long in ("--help", "--version"):
        excl = "(- *)"
    elif o.short and not o.repeat:
        excl = f"({o.short} {o.long})"
    else:
        excl = ""
    star = "*" if o.repeat else ""
    desc = f"[{zsh_desc(o.desc)}]"
    msg = MESSAGES.get(o.value, o.long[2:].replace("-", " "))
    specs = []
    if o.short:
        tail = f":{msg}:{zsh_action(o)}" if o.arg else ""
        specs.append(f"{excl}{star}{o.short}{'+' if o.arg else ''}{desc}{tail}")
    if o.arg == "required":
        specs.append(f"{excl}{star}{o.long}={desc}:{msg}:{zsh_action(o)}")
    elif o.arg == "optional":
        specs.append(f"{excl}{star}{o.long}=-{desc}::{msg}:{zsh_action(o)}")
    else:
        specs.append(f"{excl}{star}{o.long}{desc}")
    return specs


def zsh(p):
    specs = [s for o in p.options for s in zsh_specs(o)]
    if p.operands:
        prefix = "*:" if p.operands == "records" else "::"
        specs.append(f"{prefix}{OPERAND_NAMES[p.operands]}:{FILE_KINDS[p.operands][1]}")
    out = [
        f"#compdef {p.name}",
        f"# zsh completion for {p.name}.",
        "# Written by completions/gen.py from completions/options.txt: change those.",
        "",
        "_arguments -s -S \\",
    ]
    out += [f"\t{zsh_quote(s)} \\" for s in specs[:-1]]
    out.append(f"\t{zsh_quote(specs[-1])}")
    return "\n".join(out) + "\n"


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    if len(argv) < 4:
        sys.stderr.write("usage: gen.py TABLE OUTDIR PROGRAM...\n")
        return 2
    table, outdir, programs = argv[1], argv[2], argv[3:]
    try:
        sections = read_table(table)
    except (TableError, OSError) as e:
        sys.stderr.write(f"gen.py: {e}\n")
        return 1
    listed = {n for n, p in sections.items() if not p.used}
    missing = sorted(set(programs) - listed)
    extra = sorted(listed - set(programs))
    if missing or extra:
        sys.stderr.write("gen.py: %s: %s\n" % (table, "; ".join(
            [f"no [{n}] section (add the program's options)" for n in missing] +
            [f"[{n}] is not a program any more" for n in extra])))
        return 1
    os.makedirs(outdir, exist_ok=True)
    for name in programs:
        write(os.path.join(outdir, name), bash(sections[name]))
        write(os.path.join(outdir, "_" + name), zsh(sections[name]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
