"""What each command's --help says, and whether the man pages and the shell completions say the same.

    clidoc.py help OSTRECON                 the options each --help names (JSON), for a look
    clidoc.py man OSTRECON MAN_DIR          man/ostrecon*.1.in against --help
    clidoc.py bash OSTRECON BASH_FILE       the bash completion against --help and the binary
    clidoc.py zsh OSTRECON COMP_DIR WORK    the zsh completion (driven through zsh_complete.zsh)

--help is the reference. An option counts as named by a command's help when it appears anywhere in
it (its own line, or inline as in "--timeout S ...; --connect-timeout S"), except inside a quoted
command line of another command ('ostrecon batch --shard K/N' in merge's help). It takes a value
when one of its mentions is followed by an upper-case metavariable (--url URL, --shard K/N), and
an optional one with --opt[=VALUE]. Each mismatch is printed with the file to change and exits 1.
"""
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

LONG = re.compile(r"(?<![\w-])--([a-z0-9][a-z0-9-]*)")
SHORT = re.compile(r"(?<![\w-])-([a-zA-Z])(?![\w-])")
# A mention followed by its value: "--url URL", "--url=URL", "--shard K/N", "--redact[=KEYFILE]",
# "--resolve HOST:PORT:ADDRESS" (fields joined by '/' or ':').
WITH_VALUE = re.compile(r"(?<![\w-])--([a-z0-9][a-z0-9-]*)(\[=|=| )([A-Z][A-Z0-9_]*(?:[/:][A-Z][A-Z0-9_]*)*)(?![\w:])")
OTHER_COMMAND = re.compile(r"'ostrecon\s+([A-Za-z]+)\b[^']*'", re.S)
# Other programs whose options man pages show (sbatch --array=1-4): a mention after one of these
# names on the same line is theirs.
FOREIGN = re.compile(r"\b(sbatch|srun|scancel|parallel|kubectl|kinit|curl|jq)\b")

problems = []


def pmap(fn, items):
    """[fn(x) for x in items], four at a time: most of the time is spent starting programs."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(fn, items))


def problem(msg):
    problems.append(msg)


def finish(what):
    for p in problems:
        print("FAIL: " + p)
    if problems:
        print("%d problem(s) in %s" % (len(problems), what))
        sys.exit(1)


# ---- --help ---------------------------------------------------------------------------------

def run_help(ostrecon, command):
    argv = [ostrecon] + ([command] if command else []) + ["--help"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        problem("'%s' exits %d" % (" ".join(argv[1:]), r.returncode))
    return r.stdout


def parse_help(text, command):
    """{'long': set, 'short': set, 'value': {name: 'required'|'optional'}} of one help text."""
    text = OTHER_COMMAND.sub(lambda m: "" if m.group(1) != command else m.group(0), text)
    value = {}
    for m in WITH_VALUE.finditer(text):
        kind = "optional" if m.group(2) == "[=" else "required"
        if value.get(m.group(1)) != "required":
            value[m.group(1)] = kind
    return {"long": set(LONG.findall(text)), "short": set(SHORT.findall(text)), "value": value}


def commands_of(top_help):
    """The command names listed under 'Commands:' in ostrecon --help."""
    out, on = [], False
    for line in top_help.splitlines():
        if line.startswith("Commands:"):
            on = True
        elif on and re.match(r"^  [a-z]", line):
            out.append(line.split()[0])
        elif on and not line.strip():
            on = False
    return out


def all_help(ostrecon):
    top = run_help(ostrecon, None)
    commands = commands_of(top)
    if not commands:
        problem("ostrecon --help lists no commands")
    helps = {"": parse_help(top, "")}
    for c, text in zip(commands, pmap(lambda c: run_help(ostrecon, c), commands)):
        helps[c] = parse_help(text, c)
    return commands, helps


def page_of(command):
    return "ostrecon-%s" % command if command else "ostrecon"


def said(command):
    return "'ostrecon %s--help'" % (command + " " if command else "")


def opt_text(name):
    return ("--" if len(name) > 1 else "-") + name


# ---- man pages ------------------------------------------------------------------------------

ESCAPES = [(r"\-", "-"), (r"\e", "\\"), (r"\&", ""), (r"\(lq", '"'), (r"\(rq", '"'), (r"\ ", " "),
           (r"\(em", "--"), (r"\|", "")]


def roff_text(s):
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)
    for a, b in ESCAPES:
        s = s.replace(a, b)
    return s


def macro_args(rest):
    """Splits a macro line's arguments as roff does (double quotes group, "" is a quote)."""
    args, cur, quoted, i, started = [], "", False, 0, False
    while i < len(rest):
        ch = rest[i]
        if quoted:
            if ch == '"' and i + 1 < len(rest) and rest[i + 1] == '"':
                cur += '"'; i += 1
            elif ch == '"':
                quoted = False
            else:
                cur += ch
        elif ch == '"':
            quoted, started = True, True
        elif ch in " \t":
            if started:
                args.append(cur)
            cur, started = "", False
        else:
            if ch == "\\" and i + 1 < len(rest):
                cur += ch + rest[i + 1]; i += 1
            else:
                cur += ch
            started = True
        i += 1
    if started:
        args.append(cur)
    return args


def line_text(line):
    """The text a source line shows (macro lines: their arguments; alternating fonts joined)."""
    if not line.startswith("."):
        return roff_text(line)
    m = re.match(r"^\.(\S+)\s*(.*)$", line)
    name, rest = m.group(1), m.group(2)
    if name in ("B", "I", "SM", "SB"):
        return roff_text(" ".join(macro_args(rest)))
    if name in ("BR", "BI", "IB", "IR", "RB", "RI"):
        return roff_text("".join(macro_args(rest)))
    if name in ("SH", "SS"):
        return roff_text(" ".join(macro_args(rest)))
    return ""


def read_source(path, include_dir, seen=()):
    """[(file, line number, text)] of a page's source with its .so includes expanded."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = re.match(r"^\.so\s+(\S+)", line)
            if m:
                inc = os.path.join(include_dir, m.group(1))
                if not os.path.exists(inc) or inc in seen:
                    problem("%s:%d: .so %s: no such file under %s" % (path, n, m.group(1), include_dir))
                    continue
                out.extend(read_source(inc, include_dir, seen + (inc,)))
            else:
                out.append((path, n, line))
    return out


def parse_man(path, include_dir):
    """Options defined by the page (tags of .TP/.TQ paragraphs under OPTIONS: {name: (file, line,
    takes value)}), option mentions elsewhere ([(name, file, line)]), and the tags of COMMANDS."""
    lines = read_source(path, include_dir)
    defined, mentioned, command_tags = {}, [], []
    section, tag_next = "", False
    for file, n, line in lines:
        if line.startswith('.\\"'):
            continue
        if line.startswith(".SH"):
            section = line_text(line).strip().upper()
            tag_next = False
            continue
        if line.startswith((".TP", ".TQ")):
            tag_next = True
            continue
        text = line_text(line)
        if tag_next:
            tag_next = False
            if section == "OPTIONS":
                values = {m.group(1): m.group(2) for m in WITH_VALUE.finditer(text)}
                for name in LONG.findall(text):
                    kind = None if name not in values else ("optional" if values[name] == "[=" else "required")
                    if name in defined:
                        problem("%s:%d: --%s is defined twice in %s (also %s:%d)" %
                                (file, n, name, os.path.basename(path), defined[name][0], defined[name][1]))
                    defined[name] = (file, n, kind)
                for name in SHORT.findall(text):
                    defined[name] = (file, n, None)
                continue
            if section == "COMMANDS":
                command_tags.append(text.strip())
                continue
        foreign = FOREIGN.search(text)
        for m in LONG.finditer(text):
            if not (foreign and foreign.start() < m.start()):
                mentioned.append((m.group(1), file, n))
    return defined, mentioned, command_tags


def fragment_hint(name, command, helps, commands, include_dir, page_source):
    """Where an option missing from a page should go: a shared fragment when every command that
    includes it names the option in its help, else the page's own source."""
    includers = {}
    for c in commands:
        src = os.path.join(os.path.dirname(page_source), page_of(c) + ".1.in")
        if not os.path.exists(src):
            continue
        with open(src, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^\.so\s+(\S+)", line)
                if m:
                    includers.setdefault(m.group(1), set()).add(c)
    for frag, users in sorted(includers.items()):
        if command in users and len(users) > 1 and all(name in helps[c]["long"] | helps[c]["short"] for c in users):
            return "%s (included by the pages of %s)" % (os.path.join(include_dir, frag), ", ".join(sorted(users)))
    return page_source


def check_man(ostrecon, man_dir):
    include_dir = os.path.join(man_dir, "include")
    commands, helps = all_help(ostrecon)
    everything = set()
    for h in helps.values():
        everything |= h["long"]
    sources = {c: os.path.join(man_dir, page_of(c) + ".1.in") for c in [""] + commands}
    for f in sorted(os.listdir(man_dir)):
        m = re.match(r"^ostrecon-(.+)\.1\.in$", f)
        if m and m.group(1) not in commands:
            problem("%s: ostrecon --help lists no command '%s'" % (os.path.join(man_dir, f), m.group(1)))
    checked = 0
    for c in [""] + commands:
        src = sources[c]
        if not os.path.exists(src):
            problem("%s --help exists but its man page does not: write %s (start from a sibling page)" %
                    (said(c).strip("'").replace(" --help", ""), src))
            continue
        defined, mentioned, command_tags = parse_man(src, include_dir)
        h = helps[c]
        named = {n: "long" for n in h["long"]}
        named.update({n: "short" for n in h["short"]})
        for name in sorted(named):
            if name not in defined:
                where = fragment_hint(name, c, helps, commands, include_dir, src)
                kind = h["value"].get(name)
                tag = (".BI \\-\\-%s \" VALUE\"" % name.replace("-", "\\-") if kind == "required" else
                       ".BR \\-\\-%s [ =\\fIVALUE\\fR ]" % name.replace("-", "\\-") if kind == "optional" else
                       ".B \\%s" % opt_text(name).replace("-", "\\-")[1:])
                problem("%s names %s; %s(1) does not define it. Add to the OPTIONS of %s:\n"
                        "        .TP\n        %s\n        what it does" % (said(c), opt_text(name), page_of(c), where, tag))
        for name, (file, n, kind) in sorted(defined.items()):
            if name not in named:
                problem("%s:%d: %s(1) defines %s, which %s does not name: remove it from the page, or add it "
                        "to the command's help" % (file, n, page_of(c), opt_text(name), said(c)))
                continue
            if len(name) == 1:
                continue
            want = h["value"].get(name)
            if want != kind:
                def show(k):
                    return {"required": "with a value (--%s VALUE)", "optional": "with an optional value "
                            "(--%s[=VALUE])", None: "as a switch (--%s alone)"}[k] % name
                problem("%s:%d: %s(1) shows --%s %s, %s %s" %
                        (file, n, page_of(c), name, show(kind), said(c), show(want)))
        for name, file, n in mentioned:
            if name not in defined and name not in everything:
                problem("%s:%d: %s(1) mentions --%s, which no command's --help names (renamed or removed?)" %
                        (file, n, page_of(c), name))
        if c == "":
            for cmd in commands:
                if cmd not in command_tags:
                    problem("%s: the COMMANDS section of ostrecon(1) does not list '%s'" % (src, cmd))
        checked += len(named)
    finish("the man pages")
    print("man pages: %d pages, %d options, each in its --help and its page, no other" %
          (len(commands) + 1, checked))


# ---- completions ----------------------------------------------------------------------------

def binary_values(ostrecon, option):
    """The values the binary lists when refusing a bogus one ("--auth takes a, b or c")."""
    argv = {"reader": [ostrecon, "ost", "--reader=bogus-value", "x.ost"]}.get(
        option, [ostrecon, "server", "--mailbox", "a@b.example", "--%s=bogus-value" % option])
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd="/")
    m = re.search(r"--%s takes (.*)" % re.escape(option), r.stderr)
    if r.returncode != 64 or not m:
        problem("'%s' did not refuse the value with a list of the values it takes (exit %d: %s)" %
                (" ".join(argv[1:]), r.returncode, r.stderr.strip()))
        return None
    return set(re.split(r",\s*|\s+or\s+", m.group(1).strip().rstrip(".")))


ENUMS = ["auth", "api", "graph-api", "cloud", "reader"]


def accepted(ostrecon, option, value):
    """Whether the binary takes VALUE for --sync-window or --server-version."""
    if option == "sync-window":
        r = subprocess.run([ostrecon, "diff", "--sync-window=" + value, "--help"], capture_output=True,
                           text=True, timeout=30, cwd="/")
        return r.returncode == 0
    r = subprocess.run([ostrecon, "server", "--mailbox", "a@b.example", "--server-version=" + value,
                        "--auth=bogus-value"], capture_output=True, text=True, timeout=30, cwd="/")
    return "--server-version" not in r.stderr and "--auth" in r.stderr


class Shell:
    """Runs one completion: the words of a command line, the last one being completed."""

    def __init__(self, kind, ostrecon, path, work):
        self.kind, self.path, self.work = kind, path, work
        self.here = os.path.dirname(os.path.abspath(__file__))

    def complete(self, words):
        if self.kind == "bash":
            script = ('. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _ostrecon;'
                      ' [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\\n" "${COMPREPLY[@]}"')
            argv = ["bash", "--norc", "--noprofile", "-c", script, "bash", self.path] + words
        else:
            argv = ["zsh", "-f", os.path.join(self.here, "zsh_complete.zsh"), self.path,
                    os.path.join(self.work, "zcompdump"), " ".join(words)]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=os.path.join(self.work, "files"))
        if r.returncode != 0 or r.stderr.strip():
            problem("%s completion of '%s' failed (exit %d): %s" % (self.kind, " ".join(words), r.returncode,
                                                                    r.stderr.strip()[:500]))
        # zsh shows "--url=" for an option whose value may follow '='; folders end with "/".
        return {w.rstrip("=") for w in r.stdout.split("\n") if w}

    def takes_value(self, pairs):
        """bash only: the (command, option) pairs whose next word the completion takes as the value."""
        script = ('. "$1"; shift; while [ $# -gt 1 ]; do _ostrecon_takes_value "$1" "$2" && echo "$1 $2"; '
                  'shift 2; done')
        argv = ["bash", "--norc", "--noprofile", "-c", script, "bash", self.path]
        for c, o in pairs:
            argv += [c, o]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return {tuple(line.split(" ", 1)) for line in r.stdout.splitlines()}


def check_completion(kind, ostrecon, path, work):
    os.makedirs(os.path.join(work, "files", "sub"), exist_ok=True)
    for f in ["a.ost", "b.pst", "c.txt", "d.jsonl", "m.csv", "s.json"]:
        open(os.path.join(work, "files", f), "w").close()
    sh = Shell(kind, ostrecon, path, work)
    where = {"bash": "completions/ostrecon.bash (_ostrecon_options, or the shared _ostrecon_*_opts lists)",
             "zsh": "completions/_ostrecon (the command's _arguments, or the shared server_opts/report_opts/"
                    "log_opts)"}[kind]
    vwhere = {"bash": "_ostrecon_values in completions/ostrecon.bash",
              "zsh": "the option's spec (after its last ':') in completions/_ostrecon"}[kind]
    commands, helps = all_help(ostrecon)
    offered = sh.complete(["ostrecon", ""])
    if problems:
        finish("the %s completion (it does not run: nothing else checked)" % kind)
    if offered != set(commands):
        problem("%s: 'ostrecon <TAB>' offers %s; ostrecon --help lists %s: fix the command list in %s" %
                (kind, sorted(offered), commands, where))
    n = 0
    offers = dict(zip([""] + commands, pmap(lambda c: sh.complete(["ostrecon"] + ([c] if c else []) + ["-"]),
                                            [""] + commands)))
    if kind == "zsh":
        offers[""] |= sh.complete(["ostrecon", "--"])
    for c in [""] + commands:
        h = helps[c]
        named = {opt_text(x) for x in h["long"] | h["short"]}
        words = ["ostrecon"] + ([c] if c else []) + ["-"]
        got = offers[c]
        for o in sorted(named - got):
            problem("%s: '%s<TAB>' does not offer %s, which %s names: add it to %s" %
                    (kind, " ".join(words), o, said(c), where))
        for o in sorted(got - named):
            problem("%s: '%s<TAB>' offers %s, which %s does not name: remove it from %s" %
                    (kind, " ".join(words), o, said(c), where))
        n += len(named)
    if kind == "bash":
        pairs = [(c, "--" + name) for c in commands for name in sorted(helps[c]["long"])]
        taking = sh.takes_value(pairs)
        for c, o in pairs:
            want = helps[c]["value"].get(o[2:]) == "required"
            if ((c, o) in taking) != want:
                problem("bash: _ostrecon_takes_value says %s %s a value for %s; %s shows it %s" %
                        (o, "takes" if not want else "does not take", c, said(c),
                         "with one" if want else "without one (or only after '=')"))
    if os.environ.get("CLIDOC_OPTIONS_ONLY") == "1":
        finish("the %s completion" % kind)
        print("%s completion: %d options of %d commands as their --help names them" % (kind, n, len(commands)))
        return
    # Values: the lists the binary states, and values the binary takes.
    wants = dict(zip(ENUMS, pmap(lambda o: binary_values(ostrecon, o), ENUMS)))
    queries = []
    for opt in ENUMS:
        command = "ost" if opt == "reader" else "server"
        queries += [(opt, ["ostrecon", command, "--" + opt, ""]), (opt, ["ostrecon", command, "--%s=" % opt])]
        if kind == "bash":  # how bash splits --opt=value with '=' in COMP_WORDBREAKS
            queries.append((opt, ["ostrecon", command, "--" + opt, "=", ""]))
    for (opt, words), got in zip(queries, pmap(lambda q: sh.complete(q[1]), queries)):
        want = wants[opt]
        if want is not None:
            if got != want:
                problem("%s: '%s<TAB>' offers %s; the binary takes %s: fix --%s's values in %s" %
                        (kind, " ".join(words), sorted(got), sorted(want), opt, vwhere))
    for opt, must in (("sync-window", {"all", "infer"}), ("server-version", {"Exchange2013_SP1"})):
        got = sorted(sh.complete(["ostrecon", "scan", "--" + opt, ""]))
        for v in sorted(must - set(got)):
            problem("%s: '--%s <TAB>' does not offer %s: add it to %s" % (kind, opt, v, vwhere))
        for v, ok in zip(got, pmap(lambda v: accepted(ostrecon, opt, v), got)):
            if not ok:
                problem("%s: '--%s <TAB>' offers %s, which ostrecon refuses: remove it from %s" % (kind, opt, v, vwhere))
    # Files: by the kind each place takes.
    files = {
        ("ostrecon", "ost", ""): {"a.ost", "b.pst", "sub"},
        ("ostrecon", "scan", "--ost", ""): {"a.ost", "b.pst", "sub"},
        ("ostrecon", "diff", ""): {"d.jsonl", "s.json", "sub"},
        ("ostrecon", "batch", ""): {"m.csv", "sub"},
        ("ostrecon", "batch", "-o", ""): {"sub"},
        ("ostrecon", "merge", ""): {"s.json", "sub"},
        ("ostrecon", "report", ""): {"s.json", "sub"},
        ("ostrecon", "server", "--password-file", ""): {"a.ost", "b.pst", "c.txt", "d.jsonl", "m.csv", "s.json", "sub"},
        ("ostrecon", "scan", "--keep-snapshots", ""): {"sub"},
        ("ostrecon", "scan", "--mailbox", ""): set(),
    }
    for (words, want), offered in zip(files.items(), pmap(lambda w: sh.complete(list(w)), list(files))):
        got = {w.rstrip("/") for w in offered}
        if got != want:
            problem("%s: '%s<TAB>' offers %s, expected %s" % (kind, " ".join(words), sorted(got), sorted(want)))
    finish("the %s completion" % kind)
    print("%s completion: %d options of %d commands as their --help names them; values of --%s as the binary "
          "states them; files by kind" % (kind, n, len(commands), ", --".join(ENUMS)))


def main():
    what, ostrecon = sys.argv[1], os.path.abspath(sys.argv[2])
    if what == "help":
        commands, helps = all_help(ostrecon)
        print(json.dumps({c or "(top)": {k: sorted(v) if isinstance(v, set) else v for k, v in h.items()}
                          for c, h in helps.items()}, indent=1))
        finish("--help")
    elif what == "man":
        check_man(ostrecon, sys.argv[3])
    elif what in ("bash", "zsh"):
        check_completion(what, ostrecon, os.path.abspath(sys.argv[3]), os.path.abspath(sys.argv[4]))
    else:
        sys.exit("usage: clidoc.py help|man|bash|zsh OSTRECON ...")


if __name__ == "__main__":
    main()
