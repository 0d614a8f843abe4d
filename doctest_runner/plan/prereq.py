"""What a guide assumes the reader already has, and what it asks the reader to fetch or create in words.

Real guides state prerequisites in prose ("You need Docker installed", a "Prerequisites" section, "This
guide assumes a running Kubernetes cluster") or plainly assume their subject (Docker in a guide titled
"Docker in gVisor"). They also give some steps only in words ("Download the `containerd-<VERSION>.tar.gz`
archive from the releases page and extract it"). A zero-config run must not blame the doc for what follows
from either, so the classifier needs both, with the doc's own sentence and line to quote.

Pure: `detect_prerequisites(parsed, lines)` and `word_steps(parsed, lines)` read only the ParsedDoc and the
doc's source lines (the parser keeps no paragraph text). Conservative on purpose: a prerequisite is a
well-known tool, daemon or cluster (the vocabulary below) or a single backticked command word in a sentence
that says it is needed; English words that are also tool names (go, make, kind) count only in backticks or
with a qualifier ("GNU make", "Go 1.22").
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from doctest_runner.model import Condition, ParsedDoc, Plan, Prerequisite, Prose, Step


@dataclass(frozen=True)
class Known:
    """A tool a guide may assume: how prose names it, and the commands/services/sockets it provides."""

    name: str
    pattern: re.Pattern[str]
    provides: tuple[str, ...]
    packages: tuple[str, ...] = ()  # package names that install it (a guide installing it does not assume it)
    assumable: bool = False  # a platform a guide that runs it but never installs it plainly assumes
    made_by: re.Pattern[str] | None = None  # a command that brings it up without "install" (`kind create cluster`)


def _k(name: str, pattern: str, provides: tuple[str, ...], packages: tuple[str, ...] = (),
       assumable: bool = False, made_by: str | None = None) -> Known:
    return Known(name, re.compile(pattern, re.IGNORECASE), provides, packages, assumable,
                 re.compile(made_by) if made_by else None)


_BT = r"`{0}`"  # a backticked word: unambiguous even when it is an English word

KNOWN: tuple[Known, ...] = (
    _k("Docker", r"\bdocker(?:[ -](?:engine|desktop|ce|daemon))?\b(?![-.\w])",
       ("docker", "dockerd", "docker-compose"), ("docker.io", "docker-ce", "docker-ce-cli", "get.docker.com"),
       assumable=True),
    _k("Podman", r"\bpodman\b(?![-.\w])", ("podman",), ("podman",), assumable=True),
    _k("containerd", r"\bcontainerd\b(?![-.\w])", ("containerd", "ctr"), ("containerd", "containerd.io")),
    _k("a Kubernetes cluster",
       r"\b(?:kubernetes|k8s) cluster\b|\b(?:a|an|your) (?:running |working |existing )?(?:kubernetes |k8s )?cluster\b",
       ("kubernetes", "kubectl", "kube-apiserver", "kubelet"), ("kubectl", "kubeadm", "kind", "minikube", "k3s"),
       assumable=True, made_by=r"\b(?:kind|k3d) create cluster\b|\bminikube start\b|\bkubeadm init\b|get\.k3s\.io"),
    _k("kubectl", r"\bkubectl\b", ("kubectl",), ("kubectl",)),
    _k("Go", r"`go`|\bgolang\b|\bGo (?:\d|toolchain|compiler|programming language|language)",
       ("go", "gofmt"), ("golang", "golang-go", "go")),
    _k("make", r"`make`|\bGNU [Mm]ake\b", ("make",), ("make", "build-essential")),
    _k("git", r"\bgit\b(?![-.\w])", ("git",), ("git",), assumable=True),
    _k("Python", r"\bpython ?3?\b|\bpip3?\b", ("python", "python3", "pip", "pip3"), ("python3", "python3-pip")),
    _k("Node.js", r"\bnode(?:\.js|js)\b|\bnpm\b", ("node", "npm", "npx"), ("nodejs", "npm")),
    _k("Rust", r"\brust(?: toolchain)?\b|\bcargo\b|\brustup\b", ("rustc", "cargo", "rustup"), ("rustc", "cargo")),
    _k("Helm", r"\bhelm\b(?![-.\w])", ("helm",), ("helm",)),
    _k("kind", r"`kind`", ("kind",), ("kind",)),
    _k("minikube", r"\bminikube\b", ("minikube",), ("minikube",)),
    _k("a C compiler", r"\bgcc\b|\bclang\b|\bC compiler\b|\bbuild-essential\b", ("gcc", "cc", "clang"),
       ("gcc", "clang", "build-essential")),
    _k("libvirt", r"\blibvirt\b", ("virsh", "libvirtd"), ("libvirt-daemon-system", "libvirt-clients")),
    _k("QEMU", r"\bqemu\b", ("qemu-system-x86_64", "qemu-system-aarch64", "qemu-img"), ("qemu-system-x86",)),
    _k("curl", r"\bcurl\b", ("curl",), ("curl",)),
    _k("wget", r"\bwget\b", ("wget",), ("wget",)),
    _k("jq", r"\bjq\b", ("jq",), ("jq",)),
    _k("Java", r"\bjava\b|\b(?:open)?jdk\b", ("java", "javac"), ("default-jdk", "openjdk")),
)

# Section titles whose content is a list of what the reader must already have.
PREREQ_HEADING = re.compile(
    r"^(?:pre-?requisites?|requirements?|system requirements|dependencies|before you (?:begin|start)|"
    r"what you(?:'ll| will)? need|you(?:'ll| will)? need|assumptions|setup requirements)\b",
    re.IGNORECASE,
)

# A sentence that says the reader needs something (anywhere in the doc).
PREREQ_PHRASE = re.compile(
    r"\byou(?:'ll| will| would)? (?:also |first )?need\b(?! to (?!have\b|install\b|be\b|get\b))"
    r"|\b(?:this|the) (?:guide|tutorial|document|page|walkthrough|section|quick ?start) assumes\b"
    # the guide sends the reader elsewhere to install it: "To install `kubectl` see the upstream docs"
    r"|\bto (?:install|set ?up|get) (?:it|them|`?[\w.+-]+`?)(?: \w+){0,2},? (?:see|follow|refer to|read|consult|visit"
    r"|check out|go to)\b"
    r"|\bassum(?:es|ing) (?:that )?(?:you(?: already)? have|a running|an existing|a working)\b"
    r"|\b(?:make sure|ensure) (?:that )?.{0,80}\b(?:is|are) (?:installed|running|available|set up)\b"
    r"|\b(?:must|should|needs? to) (?:be|have been) (?:installed|running|available)\b"
    r"|\byou (?:must|should) (?:already )?have\b|\bhave .{1,60}\binstalled\b"
    r"|\b(?:access to|a running|an existing|a working) (?:a |an |your )?(?:running )?(?:kubernetes |k8s )?cluster\b"
    r"|\bfollowing (?:components|tools|packages|dependencies|software) (?:should|must|need to|are) ",
    re.IGNORECASE,
)
# "X requires Docker": only what follows the verb is required ("Running `docker` ... requires extra care" is not).
REQUIRE_PHRASE = re.compile(r"\brequire[sd]?\b(?! for\b)|\bprerequisites?\b", re.IGNORECASE)
_NEGATED = re.compile(r"\b(?:not|n't|no longer|never) (?:require|need)|\bwithout requiring\b", re.IGNORECASE)
# A condition or an option: "If you are building on macOS, you need ...", "only required if", "(OPTIONAL)".
_CONDITIONAL = re.compile(r"^\W*(?:if|when|unless|in case)\b|\bonly (?:required|needed)\b|\boptional(?:ly)?\b|"
                          r"\bif you (?:want|wish|prefer|plan|enable|are building|have)\b", re.IGNORECASE)
# Said strongly enough that a single backticked command word counts as a prerequisite.
_STRONG = re.compile(
    r"\byou(?:'ll| will| would)? (?:also |first )?need (?:to (?:have|install|get) )?`"
    r"|\bhave .{1,60}\binstalled\b|\b(?:must|should|needs? to) (?:be|have been) (?:installed|running|available)\b"
    r"|\bfollowing (?:components|tools|packages|dependencies|software) (?:should|must|need to|are) "
    r"|\bassum(?:es|ing) (?:that )?you(?: already)? have\b|\b(?:make sure|ensure) (?:that )?.{0,80}\b(?:is|are) "
    r"(?:installed|running|available)\b",
    re.IGNORECASE,
)
_PATHLIKE = re.compile(r"[^\s`]*/[^\s`]*")
_COMMAND_WORD = re.compile(r"(?:^|[|;&(]\s*|\bsudo\s+(?:-\S+\s+)*)([a-z][\w.+-]*)")

# Verbs of an instruction that brings a file or tool onto the machine, given in words.
FETCH_VERBS = frozenset({
    "download", "fetch", "get", "grab", "obtain", "copy", "place", "put", "save", "create", "write",
    "extract", "unpack", "untar", "unzip", "clone", "build", "compile", "install", "rename", "move",
})
_LEAD = re.compile(r"^(?:[\s*_>]|\d+\.\s)*(?:(?:first|then|next|now|finally|afterwards|to [^,.]{1,50}),\s*)?",
                   re.IGNORECASE)
_FIRST_WORD = re.compile(r"[A-Za-z]+")

_BACKTICK_WORD = re.compile(r"`([a-z][a-z0-9_.+-]{0,30})`")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z`*\[(\"])")
_QUOTE = re.compile(r"^[ ]{0,3}(?:>[ ]?)+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_SKIP_LINE = re.compile(r"^\s*(?:\{\{|\{%|<!--|-->|\||\[[^\]]*\]:\s)")
_INSTALL = re.compile(r"\binstall\b|get\.[\w-]+\.(?:com|io|sh)|\|\s*(?:sudo\s+)?(?:ba)?sh\b")


@dataclass(frozen=True)
class Paragraph:
    """Prose of the doc: a paragraph or list item, its first line, its text with line breaks kept."""

    line: int
    text: str
    heading: tuple[str, ...]
    item: bool  # a list item


def paragraphs(parsed: ParsedDoc, lines: list[str]) -> list[Paragraph]:
    """Prose paragraphs and list items outside code blocks, HTML comments, tables and front matter."""
    in_block: set[int] = set()
    for block in parsed.blocks:
        in_block.update(range(block.line, block.end_line + 1))
    start = _front_matter_end(lines)
    out: list[Paragraph] = []
    cur: list[str] = []
    cur_line = 0
    cur_item = False
    in_comment = False

    def flush() -> None:
        nonlocal cur
        if cur:
            text = "\n".join(cur).strip()
            if text:
                out.append(Paragraph(cur_line, text, _heading_at(parsed, cur_line), cur_item))
        cur = []

    for n in range(start + 1, len(lines) + 1):
        raw = lines[n - 1]
        if in_comment:
            if "-->" in raw:
                in_comment = False
            continue
        if raw.lstrip().startswith("<!--") and "-->" not in raw:
            flush()
            in_comment = True
            continue
        raw = _QUOTE.sub("", raw, count=1)  # a block quote's prose is prose (`> **NOTE**: you need ...`)
        if n in in_block or not raw.strip() or _HEADING.match(raw) or _SKIP_LINE.match(raw):
            flush()
            continue
        item = bool(_LIST_ITEM.match(raw))
        if item or not cur:
            flush()
            cur_line, cur_item = n, item
        cur.append(_LIST_ITEM.sub("", raw, count=1) if item else raw.strip())
    flush()
    return out


def _front_matter_end(lines: list[str]) -> int:
    """Line number of the closing `---` of YAML front matter, 0 when there is none."""
    if lines and lines[0].strip() == "---":
        for n in range(2, min(len(lines), 200) + 1):
            if lines[n - 1].strip() in ("---", "..."):
                return n
    return 0


def _heading_at(parsed: ParsedDoc, line: int) -> tuple[str, ...]:
    i = bisect_right(parsed.headings, line, key=lambda h: h[0])
    return parsed.headings[i - 1][1] if i else ()


def sentences(par: Paragraph) -> list[tuple[int, str]]:
    """(line, sentence) of a paragraph, joined onto one line each, Markdown links reduced to their text."""
    out: list[tuple[int, str]] = []
    pos = 0
    text = par.text
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m else len(text)
        chunk = text[pos:end]
        if chunk.strip():
            line = par.line + text.count("\n", 0, pos + len(chunk) - len(chunk.lstrip()))
            out.append((line, _plain(chunk)))
        pos = m.end() if m else len(text)
    return out


def _plain(text: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [text](url) -> text
    text = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", text)
    return " ".join(text.split())


def _title(parsed: ParsedDoc, lines: list[str]) -> tuple[int, str] | None:
    """The guide's title: front matter `title:`, else its first heading."""
    end = _front_matter_end(lines)
    for n in range(2, end):
        m = re.match(r"^title:\s*['\"]?(.*?)['\"]?\s*$", lines[n - 1])
        if m and m.group(1):
            return n, m.group(1)
    if parsed.headings:
        line, path = parsed.headings[0]
        return line, path[-1]
    return None


def _installed_by_guide(known: Known, steps: list[Step]) -> bool:
    """A step installs it (a package manager or an install script naming it): the guide does not assume it."""
    names = {*known.packages, *known.provides}
    for step in steps:
        for line in step.command.splitlines():
            if known.made_by is not None and known.made_by.search(line):
                return True
            if not _INSTALL.search(line):
                continue
            words = set(re.findall(r"[\w.+-]+", line.lower()))
            if words & names or any(p in line.lower() for p in known.packages if "." in p):
                return True
    return False


def _mentions(sentence: str, commands: set[str], *, backticks: bool) -> list[tuple[str, tuple[str, ...]]]:
    """(name, provides) of each tool the sentence names. With `backticks`, a single backticked word counts
    too, when the guide's steps run it as a command (`src` or `GOPATH` in backticks are not prerequisites)."""
    found: list[tuple[str, tuple[str, ...]]] = []
    words = _PATHLIKE.sub(" ", sentence)  # `/var/lib/docker`, docker.io/library/x: paths, not tools
    for known in KNOWN:
        if known.pattern.search(words):
            found.append((known.name, known.provides))
    if backticks:
        taken = {p for _, provides in found for p in provides}
        for word in _BACKTICK_WORD.findall(sentence):
            if word not in taken and word in commands:
                found.append((word, (word,)))
                taken.add(word)
    # "a Kubernetes cluster" already brings kubectl: keep the broader name only
    if any(name == "a Kubernetes cluster" for name, _ in found):
        found = [(n, p) for n, p in found if n != "kubectl"]
    return found


def command_words(parsed: ParsedDoc) -> set[str]:
    """Words the guide's steps run as commands (first word of a line or of a pipeline part, after sudo)."""
    words: set[str] = set()
    for step in parsed.steps:
        if step.kind == "file":
            continue
        for line in step.command.splitlines():
            words.update(m.group(1) for m in _COMMAND_WORD.finditer(line.strip()))
    return words


def _section_ranges(parsed: ParsedDoc, lines: list[str]) -> list[tuple[int, int, str]]:
    """(first line, last line, title) of each prerequisites-like section, sub-sections included."""
    out: list[tuple[int, int, str]] = []
    heads = parsed.headings
    for i, (line, path) in enumerate(heads):
        title = re.sub(r"[*_`]", "", path[-1]).strip()
        if not PREREQ_HEADING.match(title):
            continue
        level = len(path)
        end = len(lines)
        for later_line, later_path in heads[i + 1:]:
            if len(later_path) <= level:
                end = later_line - 1
                break
        out.append((line, end, title))
    return out


def detect_prerequisites(parsed: ParsedDoc, lines: list[str],
                         prose: list[tuple[Paragraph, list[tuple[int, str]]]] | None = None,
                         steps: list[Step] | None = None) -> list[Prerequisite]:
    """Prerequisites the doc states (in a prerequisites section or a sentence saying they are needed) and what
    it plainly assumes (the subject its title names; a platform its commands run), in doc order, each name
    once. `prose`: the doc's paragraphs with their sentences, when the caller has them already. `steps`: the
    steps that run (the Plan's setup and run steps), default every step of the doc: what they install is not
    assumed."""
    steps = [s for s in parsed.steps if s.kind != "file"] if steps is None else steps
    found: dict[str, Prerequisite] = {}

    def add(name: str, provides: tuple[str, ...], sentence: str, line: int, assumed: bool = False) -> None:
        if name not in found:
            text = sentence if len(sentence) <= 200 else sentence[:199].rstrip() + "…"
            found[name] = Prerequisite(name, provides, text, line, assumed)

    sections = _section_ranges(parsed, lines)
    commands = command_words(parsed)
    intro_list = False  # the previous sentence ended with ":" and said something is needed
    for par, said in prose if prose is not None else _prose(parsed, lines):
        in_section = any(a < par.line <= b for a, b, _ in sections)
        if not par.item:
            intro_list = False
        for line, sentence in said:
            phrase = bool(PREREQ_PHRASE.search(sentence))
            required = REQUIRE_PHRASE.search(sentence)
            if not (in_section or phrase or required or (par.item and intro_list)):
                if not par.item:
                    intro_list = False
                continue
            if _NEGATED.search(sentence) or _CONDITIONAL.search(sentence):
                continue
            strong = bool(_STRONG.search(sentence)) or (par.item and (intro_list or in_section))
            if in_section or phrase or (par.item and intro_list):
                for name, provides in _mentions(sentence, commands, backticks=strong):
                    add(name, provides, sentence, line)
            elif required:
                for name, provides in _mentions(sentence[required.end():], commands, backticks=False):
                    add(name, provides, sentence, line)
            if not par.item:
                intro_list = phrase and sentence.rstrip().endswith(":")
    title = _title(parsed, lines)
    if title is not None:
        line, text = title
        if not re.match(r"^\s*(?:install(?:ing)?|set(?:ting)? ?up|build(?:ing)?|get(?:ting)? )", text,
                        re.IGNORECASE):
            for known in KNOWN:
                if known.pattern.search(text) and not _installed_by_guide(known, steps):
                    add(known.name, known.provides, f"its title is \"{text}\"", line, assumed=True)
            taken = {p for pre in found.values() for p in pre.provides}
            for word in title_commands(text, steps):
                if word not in taken:
                    add(word, (word,), f"its title is \"{text}\"", line, assumed=True)
    for name, provides, line, lang in shown_toolchains(parsed, steps):
        add(name, provides, f"it shows {lang} source (line {line}) and builds it", line, assumed=True)
    taken = {p for pre in found.values() for p in pre.provides}
    for word, line, url in linked_tools(lines, steps):  # "The [`nerdctl`](https://github.com/...) tool ..."
        if word not in taken:
            add(word, (word,), f"it links {word} to its project page ({url}) and no step installs it", line,
                assumed=True)
    for known in KNOWN:  # a platform the commands use that no step installs is plainly assumed
        if not known.assumable or known.name in found or _installed_by_guide(known, steps):
            continue
        use = _first_use(steps, set(known.provides))
        if use is not None:
            word, line = use
            add(known.name, known.provides, f"it runs {word} and no step installs it", line, assumed=True)
    return sorted(found.values(), key=lambda p: p.line)


# Title words that are English first and commands second: a title "How to make a rootfs" does not name `make`.
_ENGLISH_COMMANDS = frozenset({
    "and", "apply", "as", "at", "build", "cat", "clear", "column", "cut", "date", "down", "echo", "env", "expand",
    "false", "file", "find", "fold", "free", "get", "go", "groups", "help", "host", "id", "info", "init", "install",
    "join", "kill", "kind", "last", "less", "let", "link", "list", "login", "look", "make", "man", "more", "mount",
    "new", "nice", "open", "paste", "patch", "ping", "read", "reboot", "reset", "run", "script", "see", "service",
    "set", "shutdown", "sleep", "sort", "split", "start", "test", "time", "top", "touch", "true", "type", "units",
    "up", "update", "upgrade", "use", "users", "wait", "wall", "watch", "which", "who", "write", "yes",
})
# A command name as a title writes it: in backticks, or a whole lower-case word. A word joined to another by a
# hyphen ("Docker-compatible", "Kubernetes-native") is a modifier, not the subject; so is a capitalised word.
_TITLE_COMMAND = re.compile(r"`([a-z][\w.+-]*)`|(?<![\w.+/-])([a-z][a-z0-9_+]*(?:-[a-z0-9_+]+)*)(?![\w+/-]|\.\w)")
_NOT_ASSUMED_TITLE = re.compile(r"^\s*(?:install(?:ing)?|set(?:ting)? ?up|build(?:ing)?|get(?:ting)? )", re.IGNORECASE)
# Commands that put a tool in place (a package manager, a download, a build, a copy onto the PATH).
_PROVIDER = re.compile(r"(?:^|[\s;&|(])(?:sudo\s+(?:-\S+\s+)*)?(?:mv|cp|ln|install|chmod|curl|wget|tar|unzip|"
                       r"go|cargo|make|pip3?|npm|git|apt(?:-get)?|dnf|yum|zypper|pacman|apk|brew|snap|scoop|"
                       r"choco|nix-env|krew)\s")
_NUMBERED_STEP = re.compile(r"^\W*(?:step\s*\d+|\d+[.)]\s)", re.IGNORECASE)  # a step-by-step guide's sections
_INSTALL_SECTION = re.compile(r"\binstall|\bdownload|\bset ?up\b|\bgetting (?:it|started)\b", re.IGNORECASE)


def title_commands(title: str, steps: list[Step]) -> list[str]:
    """Command words the title names and the guide runs that no step puts in place before their first use:
    the guide's subject ("Usage of virtctl guestfs", "nerdctl: Docker-compatible CLI for containerd"). A
    title about installing or building it assumes nothing. A later install counts against the assumption
    when it is in the same section as the use, outside an install section, or in a step-by-step guide (numbered
    steps: they are out of order, a doc bug); a README's separate Install section after its usage examples
    does not (the examples assume the tool is there)."""
    if _NOT_ASSUMED_TITLE.match(title):
        return []
    runs: dict[str, int] = {}  # command word -> index of the first step that runs it
    for i, step in enumerate(steps):
        if step.kind == "file":
            continue
        for line in step.command.splitlines():
            line = line.strip()
            for m in _COMMAND_WORD.finditer(line):
                if not line.startswith("=", m.end()):  # `rootfs="erofs"` assigns, it runs nothing
                    runs.setdefault(m.group(1), i)
    out: list[str] = []
    for m in _TITLE_COMMAND.finditer(title):
        word = m.group(1) or m.group(2)
        if word in out or word not in runs or (m.group(2) and word in _ENGLISH_COMMANDS):
            continue
        first = runs[word]
        providers = [i for i, step in enumerate(steps) if _puts_in_place(step, word)]
        if any(i <= first for i in providers):
            continue
        use_section = steps[first].heading
        if any(steps[i].heading == use_section or not any(_INSTALL_SECTION.search(h) for h in steps[i].heading)
               or any(_NUMBERED_STEP.match(h) for h in (*use_section, *steps[i].heading)) for i in providers):
            continue
        out.append(word)
    return out


# A guide that shows source code in a language and runs that language's build tool assumes its toolchain.
TOOLCHAINS: dict[str, tuple[str, tuple[str, ...]]] = {
    "go": ("Go", ("go", "gofmt")), "golang": ("Go", ("go", "gofmt")),
    "rust": ("Rust", ("cargo", "rustc")), "rs": ("Rust", ("cargo", "rustc")),
    "java": ("Java", ("javac", "java", "mvn", "gradle")), "kotlin": ("Kotlin", ("kotlinc", "gradle")),
    "c": ("a C compiler", ("gcc", "cc", "clang")), "cpp": ("a C++ compiler", ("g++", "c++", "clang++")),
    "c++": ("a C++ compiler", ("g++", "c++", "clang++")),
    "typescript": ("Node.js", ("node", "npm", "npx", "tsc")), "ts": ("Node.js", ("node", "npm", "npx", "tsc")),
}


def shown_toolchains(parsed: ParsedDoc, steps: list[Step]) -> list[tuple[str, tuple[str, ...], int, str]]:
    """(name, commands, line, language) of each toolchain the guide plainly assumes: it shows code in the
    language (a fenced block) and a step runs the language's tool, which no step installs first."""
    out: list[tuple[str, tuple[str, ...], int, str]] = []
    runs = {m.group(1) for step in steps if step.kind != "file"
            for ln in step.command.splitlines() for m in _COMMAND_WORD.finditer(ln.strip())}
    for block in parsed.blocks:
        known = TOOLCHAINS.get(block.lang)
        if known is None or any(name == known[0] for name, *_ in out):
            continue
        name, provides = known
        used = runs & set(provides)
        if used and not any(_puts_in_place(step, tool) for step in steps for tool in used):
            out.append((name, provides, block.line, block.lang.capitalize() if len(block.lang) > 2 else name))
    return out


# `[`nerdctl`](https://github.com/containerd/nerdctl)`: a tool named by a link to its own project page
_TOOL_LINK = re.compile(r"\[`?(?P<word>[a-z][\w.+-]*)`?\]\((?P<url>https?://[^)\s]+)\)")


def linked_tools(lines: list[str], steps: list[Step]) -> list[tuple[str, int, str]]:
    """(command, line, url) for each command the guide runs and names by a link to its project page (the
    URL's path names it) but never puts in place: the guide sends the reader there to get it."""
    runs = {m.group(1) for step in steps if step.kind != "file"
            for ln in step.command.splitlines() for m in _COMMAND_WORD.finditer(ln.strip())}
    out: list[tuple[str, int, str]] = []
    for n, text in enumerate(lines, 1):
        for m in _TOOL_LINK.finditer(text):
            word, url = m.group("word"), m.group("url")
            path = [part.lower() for part in url.split("://", 1)[1].split("/")[1:] if part]
            if word in runs and word in path and all(word != w for w, _, _ in out) \
                    and not any(_puts_in_place(step, word) for step in steps):
                out.append((word, n, url))
    return out


def _puts_in_place(step: Step, word: str) -> bool:
    """The step installs, fetches, builds or copies `word` (named as an argument, not run)."""
    if step.kind == "file":
        return False
    for line in step.command.splitlines():
        line = line.strip()
        if not (_PROVIDER.search(" " + line) or _INSTALL.search(line)):
            continue
        runs = {m.group(1) for m in _COMMAND_WORD.finditer(line)}
        args = re.findall(r"[\w.+-]+", line.lower())
        if word in args and (word not in runs or args.count(word) > 1):
            return True
    return False


# The sentence introducing a block makes it conditional on the reader's setup: "If you have the ACL package
# installed, ...", "If you use Podman, ...", "If your distribution uses SELinux, ...", "If jq is available, ...".
_CONDITION_START = re.compile(
    r"^\W*(?:(?:alternatively|optionally|also|then|otherwise|note|finally)\W+)?(?:if|when|in case)\s+"
    r"(?P<clause>[^,;:]{3,160}?)\s*(?:,|:\s*$|\bthen\b)", re.IGNORECASE)
_CONDITION_TRAILING = re.compile(r",\s*(?:only\s+)?(?:if|when)\s+(?P<clause>[^,;]{3,160}?)\s*[:.]?\s*$", re.IGNORECASE)
_SETUP_CLAUSE = re.compile(
    r"^(?:you(?:'re| are)?\s+(?:already\s+)?(?:have|has|use|using|run|running|are on|'re on|installed|got|"
    r"are using|are running|work with|rely on)\b"
    r"|your\s+(?:\w+\s+){0,2}?(?:system|distribution|distro|machine|host|kernel|os|platform|environment|"
    r"cluster|setup|server|node|computer|installation)s?\s+(?:uses?|has|have|runs?|is|are|supports?|includes?|"
    r"ships?|provides?|comes? with)\b"
    r"|.{1,80}?\b(?:is|are|was|were)\s+(?:already\s+)?(?:installed|available|present|enabled|running|supported|"
    r"in use|used)\b"
    r"|(?:the|a|an)\s+.{1,60}?\b(?:is|are)\s+(?:installed|available|present)\b)",
    re.IGNORECASE,
)
# Remedies and negations are no condition on the setup: "If you get an error, ...", "If you don't have X, install it".
_NOT_SETUP = re.compile(
    r"\b(?:error|errors|fail\w*|problem|problems|issue|issues|trouble|warning|wrong|denied|crash\w*|conflict\w*|"
    r"see|get|encounter|want|wish|prefer|like|need|not|n't|no|never|yet|missing|instead)\b", re.IGNORECASE)
_VERB_BEFORE_IF = re.compile(r"\b(?:check|see|verify|test|determine|find out|know|ask|confirm|tell|whether)\s*$",
                             re.IGNORECASE)


def setup_condition(sentence: str) -> str | None:
    """The condition clause when `sentence` makes what follows conditional on the reader's setup, else None."""
    m = _CONDITION_START.match(sentence)
    if m is None:
        m = _CONDITION_TRAILING.search(sentence)
        if m is None or _VERB_BEFORE_IF.search(sentence[: m.start()]):
            return None
    clause = m.group("clause").strip()
    if _NOT_SETUP.search(clause) or not _SETUP_CLAUSE.match(clause):
        return None
    return clause


def conditional_blocks(parsed: ParsedDoc, lines: list[str],
                       prose: list[tuple[Paragraph, list[tuple[int, str]]]] | None = None) -> list[Condition]:
    """Blocks whose introducing sentence (the last of the paragraph right before them, blank lines between at
    most) makes them conditional on the reader's setup."""
    ending: dict[int, tuple[int, str]] = {}  # last line of a paragraph -> its last sentence
    for par, said in prose if prose is not None else _prose(parsed, lines):
        if said:
            ending[par.line + par.text.count("\n")] = said[-1]
    out: list[Condition] = []
    for block in parsed.blocks:
        n = block.line - 1
        while n > 0 and not lines[n - 1].strip():
            n -= 1
        found = ending.get(n)
        if found is None:
            continue
        line, sentence = found
        clause = setup_condition(sentence)
        if clause is not None:
            text = sentence if len(sentence) <= 200 else sentence[:199].rstrip() + "…"
            out.append(Condition(block.line, text, line, clause))
    return out


def _first_use(steps: list[Step], words: set[str]) -> tuple[str, int] | None:
    """(command word, doc line) of the first step line that runs one of `words`."""
    for step in steps:
        if step.kind == "file":
            continue
        for i, line in enumerate(step.command.splitlines()):
            for m in _COMMAND_WORD.finditer(line.strip()):
                if m.group(1) in words:
                    return m.group(1), step.source_line(i)
    return None


def _fetch_verb(sentence: str) -> str | None:
    rest = _LEAD.sub("", sentence, count=1)
    m = _FIRST_WORD.match(rest)
    if not m:
        return None
    word = m.group(0).lower()
    return word if word in FETCH_VERBS else None


def _prose(parsed: ParsedDoc, lines: list[str]) -> list[tuple[Paragraph, list[tuple[int, str]]]]:
    return [(par, sentences(par)) for par in paragraphs(parsed, lines)]


def word_steps(parsed: ParsedDoc, lines: list[str],
               prose: list[tuple[Paragraph, list[tuple[int, str]]]] | None = None) -> list[Prose]:
    """Sentences that ask the reader to fetch, create or install something in words ("Download the
    archive from the releases page and extract it"), whether or not a code block follows: the classifier
    blames a command's missing file or tool on them instead of on the doc's commands."""
    out: list[Prose] = []
    for par, said in prose if prose is not None else _prose(parsed, lines):
        for line, sentence in said:
            if _fetch_verb(sentence) is not None:
                text = sentence if len(sentence) <= 300 else sentence[:297] + "..."
                out.append(Prose(path=parsed.path, line=line, text=text, heading=par.heading))
    return out


def _doc_lines(parsed: ParsedDoc, doc_path: object) -> list[str] | None:
    """The doc's source lines: the parser's text (`ParsedDoc.source`), else read from `doc_path`; None when
    unreadable (the parser has already reported it)."""
    text = parsed.source
    if text is None:
        try:
            with open(doc_path, encoding="utf-8") as fh:  # type: ignore[call-overload]
                text = fh.read()
        except (OSError, UnicodeDecodeError, TypeError):
            return None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")


def assumptions(parsed: ParsedDoc, doc_path: object,
                plan: Plan | None = None) -> tuple[list[Prerequisite], list[Prose]]:
    """Prerequisites and word steps of a parsed doc, for `plan` (its setup and the steps it runs); none for an
    unreadable file."""
    lines = _doc_lines(parsed, doc_path)
    if lines is None:
        return [], []
    prose = _prose(parsed, lines)
    steps = None if plan is None else [s for s in [*plan.setup, *plan.steps] if s.status == "run"]
    return detect_prerequisites(parsed, lines, prose, steps), word_steps(parsed, lines, prose)


def setup_conditions(parsed: ParsedDoc, doc_path: object) -> list[Condition]:
    """The doc's blocks that run only on a condition about the reader's setup (`conditional_blocks`)."""
    lines = _doc_lines(parsed, doc_path)
    return [] if lines is None else conditional_blocks(parsed, lines)
