"""GitHub's workflow-command syntax, for tests of `lint --format github` and `run --annotations github`.

`::command key=value,key=value::message`: the command is an annotation level, properties are the documented
ones, a value holds no raw `,` `:` or line break (they are %-escaped), the message no raw line break, and every
`%` starts an escape. `parse` splits a line as the Actions runner does and undoes the escaping.
"""

from __future__ import annotations

import re

_VALUE = r"(?:[^,:%\r\n]|%25|%0D|%0A|%3A|%2C)*"
_PROP = rf"(?:file|line|endLine|col|endColumn|title)={_VALUE}"
ANNOTATION = re.compile(rf"::(error|warning|notice)(?: {_PROP}(?:,{_PROP})*)?::((?:[^%\r\n]|%25|%0D|%0A)*)")


def unescape(text: str, prop: bool = False) -> str:
    """What the runner does with an escaped value (the inverse of the Actions toolkit's escaping)."""
    pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if prop else [])
    for code, char in pairs:
        text = text.replace(code, char)
    return text.replace("%25", "%")


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """(level, properties, message) of one annotation line; fails the test when the syntax is wrong."""
    m = ANNOTATION.fullmatch(line)
    assert m, f"not GitHub annotation syntax: {line!r}"
    head, _, message = line[2:].partition("::")
    level, _, props = head.partition(" ")
    values = dict(p.split("=", 1) for p in props.split(",")) if props else {}
    return level, {k: unescape(v, prop=True) for k, v in values.items()}, unescape(message)
