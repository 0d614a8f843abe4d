"""What a fix is: edits to a doc's source lines, the step-list change that runs them, and the verdict of trying it.

Kept apart from the proposers and the patch writer so that each can be tested alone: a proposer only says *what*
text a step should have (`Edit.new`, as the parser would hand it back: prompts and list indentation stripped);
`fix/patch.py` alone knows how to put that text back into the Markdown with the doc's own formatting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from doctest_runner.model import Step

EditRole = Literal["command", "output"]
FixStatus = Literal["verified", "partial", "rejected"]


@dataclass(frozen=True)
class Edit:
    """Replace doc lines `line`..`end_line` (1-based, inclusive) of `path`, or insert before `line`.

    `old` holds the text those lines have as the parser read them (so the patch can check the doc has not changed
    and recover each line's prompt and indentation); an insertion has no `old` and carries the text of line
    `line` in `anchor` instead, whose prompt and indentation the new lines copy (they become steps of the same
    block). `role` says whether the lines are commands (keep the prompt) or expected output (indentation only).
    """

    path: str
    line: int
    end_line: int  # == line - 1: an insertion before `line`
    old: tuple[str, ...]
    new: tuple[str, ...]
    role: EditRole = "command"
    anchor: str = ""

    @property
    def is_insertion(self) -> bool:
        return self.end_line == self.line - 1

    @classmethod
    def insert_before(cls, path: str, line: int, anchor: str, new: tuple[str, ...]) -> Edit:
        return cls(path, line, line - 1, (), new, "command", anchor)


@dataclass(frozen=True)
class Candidate:
    """One proposed fix for one failed step: how the doc changes (`edits`) and how the step list changes.

    `command` replaces the failed step's command, `expected_output` its documented output (None: unchanged),
    `insert_before` adds steps just before it. `placeholder`: a value only a person can give is marked in the
    text; such a candidate is never `verified`, whatever the run shows.
    """

    step_id: str
    category: str
    proposer: str
    description: str
    edits: tuple[Edit, ...] = ()
    command: str | None = None
    expected_output: str | None = None
    insert_before: tuple[str, ...] = ()
    placeholder: bool = False

    def changes(self, step: Step) -> bool:
        """Whether applying it to `step` changes anything that runs (a no-op candidate is never proposed)."""
        return bool(self.insert_before) or (self.command is not None and self.command != step.command) or (
            self.expected_output is not None and self.expected_output != step.expected_output)


@dataclass(frozen=True)
class Verdict:
    """What running a candidate showed, decided by `fix/verify.decide`.

    `before_line` / `after_line`: doc line of the first failure without and with the candidate (None: none).
    """

    status: FixStatus
    reason: str
    before_line: int | None
    after_line: int | None
    duration_s: float
