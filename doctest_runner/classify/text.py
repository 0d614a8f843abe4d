"""Text helpers shared by the classifier and the reports: clean terminal output into plain lines.

Guest output is what a terminal would show: ANSI colours, carriage-return progress bars,
CRLF. Evidence and reports want the line a person would have read, so those are removed here
once, the same way everywhere.
"""

from __future__ import annotations

from doctest_runner.text import strip_ansi  # one definition, shared with the report cleaning

EVIDENCE_MAX = 200


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
    for line in reversed(lines):
        if line.strip():
            return line
    return None
