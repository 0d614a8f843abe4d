"""Report text cleaning, one rule for every format: what a doc, sidecar or guest put into a string must not
change the structure of the report that shows it.

Doc paths, check targets, evidence and output come from docs anyone can send (and from the guest). In
junit.xml a control character makes the file invalid XML; in checklist.md a carriage return or a Unicode
line separator starts a new heading or list item; a lone surrogate (`"\\ud800"` from YAML or JSON) cannot be
written as UTF-8 at all. Every report writer (JUnit, checklist, HTML, terminal) cleans through `clean_text`
(multi-line bodies) or `one_line` (names, attributes, list items), so all of them agree.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"

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
