"""What every proposer needs: the line of the step that failed, and candidates that change one line or insert
steps, with the matching doc edit (only for a step the doc itself holds: never a sidecar's)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence

from doctest_runner.model import Step, StepResult
from doctest_runner.text import clean_text

from ..facts import GuestFacts
from ..model import Candidate, Edit

Proposer = Callable[[StepResult, Sequence[Step], GuestFacts], list[Candidate]]

# Steps whose text is in the doc, as commands: their lines can be patched.
_EDITABLE_KINDS = frozenset({"prompted", "bare", "setup", "cleanup"})
APT_UPDATE_RE = re.compile(r"\bapt(?:-get)?\s+(?:-[-\w=]+\s+)*update\b")


def editable(step: Step) -> bool:
    return step.origin == "doc" and step.kind in _EDITABLE_KINDS


def whole_block(step: Step) -> bool:
    """A step that is its block's whole script (a `bash` block without prompts): lines put before it in the
    block become part of it, so a candidate prepends them to its command instead of inserting steps."""
    return step.prompt is None and step.kind in ("bare", "setup", "cleanup")


def failed_index(result: StepResult) -> int:
    """0-based line of the step's command that failed (its first line when the run did not say)."""
    step = result.step
    if result.failed_line is not None and result.failed_line in step.line_map:
        return step.line_map.index(result.failed_line)
    return 0


def output_lines(result: StepResult) -> list[str]:
    return [ln.rstrip() for ln in clean_text(result.output).split("\n")]


def find(pattern: re.Pattern[str], *texts: str | None, strip: bool = False) -> str | None:
    """The first group of `pattern` that took part in the match, in the first line of `texts` where it matches
    (patterns with alternatives put each form's name in a group of its own)."""
    for text in texts:
        for line in (text or "").split("\n"):
            m = pattern.search(line.strip() if strip else line)
            if m:
                return next((g for g in m.groups() if g), None)
    return None


def closest_swaps(result: StepResult, index: int, line: str, word: str, names: list[str],
                  shown: Callable[[str], str], *, category: str, proposer: str,
                  description: Callable[[str], str]) -> list[Candidate]:
    """One candidate per close name the guest has (facts.closest): `word` in the failed line replaced by the
    name as the doc would write it (`shown`), shell-quoted because the name comes from the guest."""
    out: list[Candidate] = []
    for name in names:
        new = replace_word(line, word, shlex.quote(shown(name)))
        if new is None:
            continue
        cand = with_line(result, index, new, category=category, proposer=proposer, description=description(name))
        if cand:
            out.append(cand)
    return out


def replace_word(text: str, old: str, new: str) -> str | None:
    """`text` with the first whole-word `old` (not inside a longer name) replaced; None when absent."""
    m = re.search(r"(?<![\w.+-])" + re.escape(old) + r"(?![\w+-]|\.\w)", text)
    if m is None:
        return None
    return text[: m.start()] + new + text[m.end():]


def with_line(result: StepResult, index: int, new_line: str, *, category: str, proposer: str, description: str,
              placeholder: bool = False, insert: tuple[str, ...] = ()) -> Candidate | None:
    """A candidate that rewrites line `index` of the failed step (and may insert steps before it)."""
    step = result.step
    lines = step.command.split("\n")
    if not 0 <= index < len(lines) or lines[index] == new_line:
        return None
    new_lines = [*lines[:index], *new_line.split("\n"), *lines[index + 1:]]
    if insert and whole_block(step):
        new_lines = [*insert, *new_lines]
    edits: list[Edit] = []
    if editable(step):
        if insert:
            edits.append(Edit.insert_before(step.path, step.line, lines[0], insert))
        src = step.source_line(index)
        edits.append(Edit(step.path, src, src, (lines[index],), tuple(new_line.split("\n"))))
    steps_before = () if whole_block(step) else insert
    return Candidate(step.id, category, proposer, description, tuple(edits), "\n".join(new_lines),
                     None, steps_before, placeholder)


def inserting(result: StepResult, commands: tuple[str, ...], *, category: str, proposer: str, description: str,
              placeholder: bool = False) -> Candidate:
    """A candidate that adds steps just before the failed one, in its block and with its prompt (in a block that is
    one script, as the script's first lines)."""
    step = result.step
    edits = (Edit.insert_before(step.path, step.line, step.command.split("\n")[0], commands),) \
        if editable(step) else ()
    if whole_block(step):
        return Candidate(step.id, category, proposer, description, edits, "\n".join([*commands, step.command]),
                         None, (), placeholder)
    return Candidate(step.id, category, proposer, description, edits, None, None, commands, placeholder)


def updates_before(step: Step, steps: Sequence[Step]) -> bool:
    """Whether an `apt-get update` runs before `step` (in an earlier step or earlier in its own text)."""
    for other in steps:
        if other.id == step.id:
            return False
        if other.status == "run" and APT_UPDATE_RE.search(other.command):
            return True
    return False
