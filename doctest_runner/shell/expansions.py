"""What the classifier needs to know about the *reader's* command, read with THE lexer (`lexer.py`).

Three facts plain regexes get wrong: which text is inside quotes (a `<name>` in single quotes is
data, unquoted it is an unresolved placeholder; `$'it\\'s' <name>` has one quoted word, then an
unquoted placeholder), which lines are here-document bodies (their `<html>` is file content), and
where a `sudo ... > file` redirect is (the redirect is opened by the user's shell, not by sudo).
`mask` turns the lexer's spans into same-length texts, so the regexes here see only what bash does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from doctest_runner.shell.lexer import lex
from doctest_runner.shell.variables import ALWAYS_SET

# `<name>` / `<your version>` / `<IP:port>`: a word in angle brackets, no blank at either edge.
PLACEHOLDER = re.compile(r"<(?![<(=&\s])([A-Za-z][\w .:/@-]*?[\w.])>")

_VAR_REF = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")


@dataclass(frozen=True)
class Masked:
    """The command with here-doc bodies and comments blanked, and each character's quoting known.

    `unquoted` is the command with every quoted character replaced by a space (same length), so
    a regex over it only sees what the shell interprets; `single` is the same but blanks only
    single-quoted text (double quotes still expand `$VAR`). Newlines are never blanked.
    """

    text: str
    unquoted: str
    single: str


def _blank(chars: list[str], start: int, end: int) -> None:
    for j in range(start, min(end, len(chars))):
        if chars[j] != "\n":
            chars[j] = " "


def mask(command: str) -> Masked:
    """Blank here-document bodies (and their closing lines), comments and quoted text, keeping offsets
    aligned with `command`."""
    script = lex(command)
    code = list(command)
    for doc in script.heredocs:
        if doc.body_start < 0:
            continue
        end = doc.body_end
        if doc.closed:  # the delimiter line too
            eol = command.find("\n", end)
            end = len(command) if eol < 0 else eol
        _blank(code, doc.body_start, end)
    for start, end in script.comments:
        _blank(code, start, end)
    text = "".join(code)
    unquoted = list(text)
    single = list(text)
    for start, end, kind in script.quotes:
        if text[start] == " ":  # inside a here-doc body or comment: already blank
            continue
        _blank(unquoted, start, end)
        if kind != '"':
            _blank(single, start, end)
    return Masked(text=text, unquoted="".join(unquoted), single="".join(single))


@dataclass(frozen=True)
class Placeholder:
    text: str  # "<version>"
    name: str  # "version"
    quoted: bool
    line_index: int  # 0-based line of the command


def placeholders(command: str) -> list[Placeholder]:
    """Every `<name>` in the command outside here-doc bodies, and whether the shell saw it quoted."""
    m = mask(command)
    found: list[Placeholder] = []
    for hit in PLACEHOLDER.finditer(m.text):
        start = hit.start()
        quoted = m.unquoted[start] != "<"
        found.append(
            Placeholder(
                text=hit.group(0),
                name=hit.group(1),
                quoted=quoted,
                line_index=m.text.count("\n", 0, start),
            )
        )
    return found


def assigned_vars(command: str) -> set[str]:
    """Variables the command sets itself (so an empty value came from its own commands)."""
    names: set[str] = set()
    for m in re.finditer(r"(?:^|[\s;&|(])(?:export\s+|local\s+|declare\s+(?:-\w+\s+)*|readonly\s+)?"
                         r"([A-Za-z_]\w*)\+?=", command):
        names.add(m.group(1))
    read_opts = r"(?:-[A-Za-z]*[pdtnNu]\s+(?:'[^']*'|\"[^\"]*\"|\S+)\s+|-[A-Za-z]+\s+)*"
    for m in re.finditer(r"\bread\s+" + read_opts + r"([A-Za-z_][\w ]*)", command):
        names.update(m.group(1).split())
    for m in re.finditer(r"\bfor\s+([A-Za-z_]\w*)\s+in\b", command):
        names.add(m.group(1))
    return names


@dataclass(frozen=True)
class EmptyExpansion:
    var: str
    word: str  # the word as written, e.g. https://x/v${VERSION}/a.tgz
    expanded: str  # the word with the unset variables removed: https://x/v/a.tgz


def empty_expansions(command: str) -> list[EmptyExpansion]:
    """Words that use a variable the step does not set, with what they become if it is empty."""
    m = mask(command)
    own = assigned_vars(m.text)
    out: list[EmptyExpansion] = []
    for word_m in re.finditer(r"[^\s;&|<>()`]+", m.single):
        word = m.text[word_m.start(): word_m.end()].strip("'\"")
        names = [r.group(1) or r.group(2) for r in _VAR_REF.finditer(word)]
        unset = [n for n in names if n not in own and n not in ALWAYS_SET]
        if not unset:
            continue
        expanded = _VAR_REF.sub(  # called at once, so the closure sees this word's `unset`
            lambda r: "" if (r.group(1) or r.group(2)) in unset else r.group(0), word
        ).replace('"', "")
        if "$" in expanded or len(expanded) < 6:
            continue  # other variables left, or too short to recognise in output
        out.append(EmptyExpansion(var=unset[0], word=word, expanded=expanded))
    return out


@dataclass(frozen=True)
class SudoRedirect:
    target: str  # the redirected-to path
    line_index: int


def sudo_redirects(command: str) -> list[SudoRedirect]:
    """`sudo cmd > /path` (or >>): the shell, running as the user, opens /path, not sudo."""
    m = mask(command)
    found: list[SudoRedirect] = []
    for hit in re.finditer(r"\bsudo\b[^|;&\n]*?(?<![0-9&>])>>?(?!&)", m.unquoted):
        rest = m.text[hit.end():]
        target = re.match(r"[ \t]*[\"']?([^\s;&|\"']+)", rest)
        if target:
            found.append(SudoRedirect(target=target.group(1), line_index=m.text.count("\n", 0, hit.start())))
    return found
