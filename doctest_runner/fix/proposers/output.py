"""Documented output that no longer matches: show what the guide printed, with `...` where a value changes from
run to run (times, dates, ids, addresses, durations), so the check passes next time and still says something.

Lines the doc already matched keep the author's text (and their own `...`); long output keeps its head and ends in
a `...` line, which matches any remaining lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from doctest_runner.checks import compare_output
from doctest_runner.model import Step, StepResult
from doctest_runner.text import clean_lines

from ..facts import GuestFacts
from ..model import Candidate, Edit
from .common import editable

ELLIPSIS = "..."
MAX_LINES = 20

# Values that differ between two runs of the same guide on the same image.
_VOLATILE = re.compile("|".join((
    r"\b\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?",  # ISO date / timestamp
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +(?:\d{1,2} +)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\w*"
    r"(?: +\d{1,2})?(?: +\d{4})?(?: +\d\d:\d\d:\d\d)?(?: +[A-Z]{3,4})?(?: +\d{4})?",  # date(1)
    r"\b\d{1,2}:\d\d:\d\d(?:[.,]\d+)?\b",  # clock time
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",  # UUID
    r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{12,}\b",  # hashes, container ids
    r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b",  # IPv4 address (DHCP)
    r"\b\d+(?:\.\d+)?\s?(?:ms|µs|us|ns|s|sec|secs|seconds|min|minutes)\b",  # durations
    r"\b(?:pid|PID)[ =:]?\d+\b|\[\d{2,}\]",  # process ids
    r"\btmp\.[A-Za-z0-9]{6,}\b",  # mktemp names
)))


def _matches(expected: str, actual: str) -> bool:
    """One documented line against one printed line, by the output check's own rule."""
    return compare_output(expected, actual) is None


def generalise(line: str) -> str:
    """`line` with each run-to-run value replaced by `...`."""
    return _VOLATILE.sub(ELLIPSIS, line)


def new_expected(expected: str, actual: str) -> str:
    """The expected output to document: `actual`, keeping the doc's lines where they still match."""
    act = clean_lines(actual)
    while act and not act[0].strip():
        act.pop(0)
    while act and not act[-1].strip():
        act.pop()
    exp = [ln for ln in expected.split("\n")]
    out: list[str] = []
    e = 0
    for line in act[:MAX_LINES]:
        k = next((j for j in range(e, len(exp)) if exp[j].strip() != ELLIPSIS and _matches(exp[j], line)), None)
        if k is not None:
            out.append(exp[k])
            e = k + 1
        else:
            out.append(generalise(line.rstrip()))
    if len(act) > MAX_LINES:
        out.append(ELLIPSIS)
    return "\n".join(out)


def propose(result: StepResult, steps: Sequence[Step], facts: GuestFacts) -> list[Candidate]:
    step = result.step
    if step.expected_output is None or step.kind == "file":
        return []
    new = new_expected(step.expected_output, result.output)
    if not new.strip() or new == step.expected_output:
        return []
    old = tuple(step.expected_output.split("\n"))
    edits = (Edit(step.path, step.end_line + 1, step.end_line + len(old), old, tuple(new.split("\n")), "output"),) \
        if editable(step) else ()
    return [Candidate(step.id, "output-mismatch", "produced-output",
                      "show the output the command prints now, with `...` where a value changes between runs",
                      edits, None, new)]
