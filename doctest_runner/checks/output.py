"""Compare a step's real output with the output its doc shows, tolerating what docs never get exact.

Normalisation: CRLF, trailing blanks on each line, blank lines at either end, terminal escapes
and carriage-return progress redraws. Wildcards, as in Python's doctest ELLIPSIS: a line that is
just `...` matches any number of lines (zero included); `...` inside a line matches any text.
The mismatch names the first expected line that could not be matched, so a doc author sees
exactly which documented line is out of date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from doctest_runner.text import clean_lines, trim

ELLIPSIS = "..."


@dataclass(frozen=True)
class OutputMismatch:
    """Where the documented output stops matching what the command printed."""

    message: str  # one line: 'line 3 of the expected output: expected "x", got "y"'
    evidence: str  # the actual output line at the point of difference (or a note when there is none)
    expected_line: str | None  # the documented line that failed to match (None: output went on too long)
    actual_line: str | None  # the printed line there (None: output ended too early)
    expected_index: int  # 0-based line in `expected` as given (one past its end: extra output)
    actual_index: int  # 0-based line in the normalised actual output

    def doc_line(self, first_expected_doc_line: int) -> int:
        """The doc line of the failing expected line, given where the expected output starts."""
        return first_expected_doc_line + self.expected_index


def _normalise(text: str) -> tuple[list[str], int]:
    """Lines without escapes, CRLF or trailing blanks; leading/trailing blank lines dropped.

    Returns the lines and how many leading lines were dropped (to map back to the original).
    """
    lines = clean_lines(text)
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = len(lines)
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end], start


@lru_cache(maxsize=512)
def _line_pattern(expected: str) -> re.Pattern[str] | None:
    """A regex for an expected line with `...` fragments, or None when it has none (exact compare)."""
    if ELLIPSIS not in expected:
        return None
    parts = [re.escape(p) for p in expected.split(ELLIPSIS)]
    return re.compile(".*".join(parts), re.DOTALL)


def _line_matches(expected: str, actual: str) -> bool:
    pattern = _line_pattern(expected)
    if pattern is None:
        return expected == actual
    return pattern.fullmatch(actual) is not None


def _is_wildcard_line(line: str) -> bool:
    return line.strip() == ELLIPSIS


def _match(exp: list[str], act: list[str]) -> tuple[bool, int, int]:
    """Match line lists with `...` lines as 'any number of lines'.

    Returns (matched, i, j): on failure, the furthest state reached, i.e. the first expected
    line (i) that no alignment got past, and the actual line (j) it was last compared with.
    A search over (expected, actual) positions; a wildcard either stops or swallows one more
    line, so there are at most len(exp) * len(act) states.
    """
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    best = (0, 0)
    while stack:
        state = stack.pop()
        if state in seen:
            continue
        seen.add(state)
        best = max(best, state)
        i, j = state
        if i == len(exp):
            if j == len(act):
                return True, i, j
            continue
        if _is_wildcard_line(exp[i]):
            if j < len(act):
                stack.append((i, j + 1))  # swallow one more actual line
            stack.append((i + 1, j))  # or stop here
            continue
        if j < len(act) and _line_matches(exp[i], act[j]):
            stack.append((i + 1, j + 1))
    return False, best[0], best[1]


def _quote(line: str) -> str:
    return '"' + trim(line, 80).replace('"', '\\"') + '"'


def compare_output(expected: str, actual: str) -> OutputMismatch | None:
    """None when `actual` matches the documented `expected` output, else where it first differs."""
    exp, offset = _normalise(expected)
    act, _ = _normalise(actual)
    ok, i, j = _match(exp, act)
    if ok:
        return None
    # The furthest state may sit on a wildcard line: report the first real line after it.
    while i < len(exp) and _is_wildcard_line(exp[i]):
        i += 1
    exp_line = exp[i] if i < len(exp) else None
    act_line = act[j] if j < len(act) else None
    where = f"line {i + offset + 1} of the expected output" if exp_line is not None else "after the expected output"
    if exp_line is not None and act_line is not None:
        message = f"{where}: expected {_quote(exp_line)}, got {_quote(act_line)}"
        evidence = act_line
    elif exp_line is not None:
        message = f"{where}: expected {_quote(exp_line)}, but the output ended"
        evidence = act[-1] if act else "(no output)"
    else:
        message = f"{where}: unexpected extra line {_quote(act_line or '')}"
        evidence = act_line or "(no output)"
    return OutputMismatch(
        message=message,
        evidence=trim(evidence),
        expected_line=exp_line,
        actual_line=act_line,
        expected_index=i + offset,
        actual_index=j,
    )
