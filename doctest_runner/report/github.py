"""GitHub Actions workflow commands: one annotation line, escaped as the Actions runner parses it.

`::error file=docs/a.md,line=12,title=syntax::message` makes GitHub show the message at that line of the
pull request's diff and in the run's summary. The runner reads the line up to the first `::` as the command
and its properties (split at `,`, each at its first `=`), the rest as the message, and unescapes
`%25 %0D %0A` in the message and, in properties, also `%3A %2C` (the escaping of the Actions toolkit's
`issueCommand`). So a doc path with a comma or colon, or a message with a newline from a guest's output,
cannot end the line early, add a property or start another workflow command.

Shared by `lint --format github` and `run --annotations github`.
"""

from __future__ import annotations

from typing import Literal

from doctest_runner.text import clean_text, one_line

Level = Literal["error", "warning", "notice"]
LEVELS: tuple[Level, ...] = ("error", "warning", "notice")


def escape_data(text: str) -> str:
    """A message: `%`, CR and LF escaped (`%` first, so an escape in the text stays literal)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: as a message, plus `:` and `,`, which would end the value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: Level, message: str, *, file: str | None = None, line: int | None = None,
               end_line: int | None = None, title: str | None = None) -> str:
    """One `::level file=...,line=...,title=...::message` line. Text is cleaned first (doctest_runner.text):
    control characters and terminal escapes never reach the log; the message keeps its line breaks, escaped."""
    if level not in LEVELS:
        raise ValueError(f"annotation level must be one of {', '.join(LEVELS)}, not {level!r}")
    props: list[tuple[str, str]] = []
    if file:
        props.append(("file", one_line(file)))
        if line and line > 0:
            props.append(("line", str(line)))
            if end_line and end_line > line:
                props.append(("endLine", str(end_line)))
    if title:
        props.append(("title", one_line(title)))
    head = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    body = escape_data(clean_text(message).strip("\n"))
    return f"::{level}{' ' + head if head else ''}::{body}"
