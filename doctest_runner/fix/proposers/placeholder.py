"""A value the reader was meant to fill in (`<VERSION>`) or a variable never set: an assignment step before the
failed one, with the value the doc itself gives elsewhere; else a marked placeholder a person must fill.

The assignment is an `export` line: the idiom docs use, and one every prompt style reads as a command (a bare
`NAME=value` after a `# ` root prompt reads as a comment).
"Elsewhere" is read from the guide's other steps and their shown output: the same word with the placeholder
filled (`kata-static-3.2.0-amd64.tar.xz` for `kata-static-<VERSION>-amd64.tar.xz`), or `VAR=value` for `$VAR`.
Nothing is guessed: without such a value the candidate carries the marked placeholder and is never verified.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from doctest_runner.model import Step, StepResult
from doctest_runner.shell import placeholders

from ..facts import GuestFacts
from ..model import Candidate
from .common import failed_index, find, inserting, output_lines, with_line

_UNBOUND_RE = re.compile(r"(\w+): unbound variable")
_NEVER_SET_RE = re.compile(r"\$(\w+) (?:was never set|is used but never set)")
_VALUE = r"([\w.+~:@%-]+)"


def variable_name(placeholder: str) -> str:
    name = re.sub(r"\W", "_", placeholder).upper()
    return name if not name[:1].isdigit() else "_" + name


def _texts(steps: Sequence[Step], failed: Step) -> list[str]:
    return [t for s in steps if s.id != failed.id for t in (s.command, s.expected_output or "")]


def value_for_word(word: str, placeholder: str, texts: list[str]) -> str | None:
    """The value that fills `placeholder` in `word` where another step writes the word out in full."""
    before, _, after = word.partition(placeholder)
    if not before and not after:
        return None  # a bare `<x>` word: any word would match; the doc gives no evidence of which
    pattern = re.compile(r"(?<![\w.-])" + re.escape(before) + _VALUE + re.escape(after) + r"(?![\w-])")
    for text in texts:
        for m in pattern.finditer(text):
            if "<" not in m.group(1) and "$" not in m.group(1):
                return m.group(1)
    return None


def value_for_variable(var: str, texts: list[str]) -> str | None:
    """The value an assignment to `var` in another step gives it."""
    pattern = re.compile(r"(?:^|[;&|]\s*|\s)(?:export\s+)?" + re.escape(var) + r"=(\"[^\"$`]*\"|'[^']*'|[^\s;&|$`]+)")
    for text in texts:
        m = pattern.search(text)
        if m:
            raw = m.group(1)
            value = raw[1:-1] if raw[:1] in "'\"" else raw
            return value
    return None


def propose(result: StepResult, steps: Sequence[Step], facts: GuestFacts) -> list[Candidate]:
    step = result.step
    index = failed_index(result)
    lines = step.command.split("\n")
    texts = _texts(steps, step)
    # the shell reader's placeholders (as the classifier sees them): one on the failed line first, unquoted first
    marks = sorted(placeholders(step.command), key=lambda p: (p.line_index != index, p.quoted))
    if marks:
        index = marks[0].line_index
        line = lines[index]
        at = line.find(marks[0].text)
        start = line.rfind(" ", 0, at) + 1
        end = next((k for k in range(at + len(marks[0].text), len(line)) if line[k].isspace()), len(line))
        word, placeholder = line[start:end], marks[0].text
        var = variable_name(marks[0].name)
        value = value_for_word(word, placeholder, texts)
        new_line = line.replace(placeholder, "${" + var + "}")
        if value is not None:
            cand = with_line(result, index, new_line, category="placeholder", proposer="assign-from-doc",
                             description=f"set {var} to `{value}`, the value the guide itself uses elsewhere, "
                                         f"and use it for {placeholder}",
                             insert=(f"export {var}={shlex.quote(value)}",))
        else:
            cand = with_line(result, index, new_line, category="placeholder", proposer="mark-placeholder",
                             description=f"the guide never gives {placeholder}: set {var} in a step of its own "
                                         "(a person must fill the value)",
                             insert=(f"export {var}={shlex.quote(placeholder)}",), placeholder=True)
        return [cand] if cand else []
    unset = find(_UNBOUND_RE, result.evidence, *output_lines(result)) or find(_NEVER_SET_RE, result.explanation)
    if unset is None:
        return []
    found = value_for_variable(unset, texts)
    if found is not None:
        return [inserting(result, (f"export {unset}={shlex.quote(found)}",), category="placeholder",
                          proposer="assign-from-doc",
                          description=f"set ${unset} before it is used, to `{found}` as the guide does elsewhere")]
    return [inserting(result, (f"export {unset}={shlex.quote('<' + unset + '>')}",), category="placeholder",
                      proposer="mark-placeholder",
                      description=f"${unset} is never set: a step must set it (a person must fill the value)",
                      placeholder=True)]
