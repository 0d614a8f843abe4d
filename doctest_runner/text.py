"""Report text cleaning, one rule for every format: what a doc, sidecar or guest put into a string must not
change the structure of the report that shows it.

Doc paths, check targets, evidence and output come from docs anyone can send (and from the guest). In
junit.xml a control character makes the file invalid XML; in checklist.md a carriage return or a Unicode
line separator starts a new heading or list item; a lone surrogate (`"\\ud800"` from YAML or JSON) cannot be
written as UTF-8 at all. Every report writer (JUnit, checklist, HTML, terminal) cleans through `clean_text`
(multi-line bodies) or `one_line` (names, attributes, list items), so all of them agree.

Guest output is what a terminal would show: ANSI colours, carriage-return progress bars, CRLF. Evidence (in
classify and checks) and reports want the line a person would have read: `clean_lines` gives it, and `trim`
/ `trim_around` cut one evidence line, the same way for every stage that shows one.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
EVIDENCE_MAX = 200

# CSI (colours, cursor moves) and OSC (window titles) escape sequences, plus lone ESC pairs.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Line breaks a renderer may honour besides \n: CR, NEL, LINE/PARAGRAPH SEPARATOR, VT, FF.
_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
# What no report can carry: C0 controls but tab and newline, DEL, C1 controls, non-characters U+FFFE/U+FFFF.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences so patterns and reports see plain text."""
    return _ANSI.sub("", text)


def fix_surrogates(text: str) -> str:
    """Join surrogate pairs into their character; a lone surrogate becomes U+FFFD."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def clean_text(text: object) -> str:
    """Multi-line text safe in any report: escapes removed, every line break a `\\n`, tabs kept, other
    control characters and lone surrogates replaced by U+FFFD."""
    if text is None:
        return ""
    s = fix_surrogates(strip_ansi(str(text)))
    return _CONTROL.sub(REPLACEMENT, _BREAKS.sub("\n", s))


def one_line(text: object) -> str:
    """Text for one line of structure (a name, an attribute, a heading, a list item): `clean_text` with
    line breaks and tabs turned into spaces."""
    return clean_text(text).replace("\n", " ").replace("\t", " ")


def plural(n: int, word: str) -> str:
    """`1 guide`, `3 guides`: counts in summaries (regular English plurals only)."""
    return f"{n} {word}{'' if n == 1 else 's'}"

def clean_lines(output: str) -> list[str]:
    """Output as the lines a reader saw: no escapes, CRLF folded, progress redraws collapsed.

    A line redrawn with bare `\\r` (curl/wget/apt progress) keeps only its last non-empty state.
    """
    lines: list[str] = []
    for raw in strip_ansi(output).replace("\r\n", "\n").split("\n"):
        if "\r" in raw:
            parts = [p for p in raw.split("\r") if p.strip()]
            raw = parts[-1] if parts else ""
        lines.append(raw.rstrip())
    return lines


def trim(line: str, limit: int = EVIDENCE_MAX) -> str:
    """One evidence line: surrounding blanks removed, cut to `limit` characters with an ellipsis."""
    line = line.strip()
    if len(line) <= limit:
        return line
    return line[: limit - 1].rstrip() + "…"


def trim_around(line: str, start: int, end: int, limit: int = EVIDENCE_MAX) -> str:
    """Like `trim`, but keep the part [start, end) that made the line evidence in view."""
    lead = len(line) - len(line.lstrip())
    line = line.strip()
    start, end = max(start - lead, 0), max(end - lead, 0)
    if len(line) <= limit or end <= limit - 1:
        return trim(line, limit)
    # window that ends a little after the match, marked as cut on both sides as needed
    tail_room = min(len(line) - end, 20)
    stop = end + tail_room
    begin = max(0, stop - (limit - 2))
    if begin > start:  # the match itself is longer than the window: show its start
        begin, stop = start, start + limit - 2
    text = line[begin:stop]
    return ("…" if begin > 0 else "") + text + ("…" if stop < len(line) else "")


def last_nonempty(lines: list[str]) -> str | None:
    """The last line with something on it (the line a failing command usually ends its story on)."""
    for line in reversed(lines):
        if line.strip():
            return line
    return None
