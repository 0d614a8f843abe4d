"""Fixes a person made: a step's command edited by hand (`walk`'s [e]dit) as a candidate, and writing fixes into the
doc itself (`walk`'s [w]rite, `fix --apply`), refusing when the doc is no longer the text that ran.

Why the same Edit and patch path as the proposers': the doc keeps its formatting (prompts, list indentation) and the
written doc is re-read by the parser to be the steps that ran (`check_patched`), whoever wrote the change.
"""

from __future__ import annotations

from collections.abc import Sequence

from doctest_runner.model import DoctestError, Step

from .model import Candidate, Edit
from .patch import apply_edits, check_patched, read_source

__all__ = ["edited_step", "write_back"]

# Steps whose text is in the doc as commands (file steps and sidecar commands are not written back here).
_COMMAND_KINDS = ("prompted", "bare", "setup", "cleanup")


def edited_step(step: Step, command: str, *, description: str = "the command as edited in walk") -> Candidate:
    """The candidate that gives `step` the command `command` in the doc: its lines replaced by the new ones.
    DoctestError (at the step's line) when the step is not the doc's own command text on consecutive lines."""
    if step.origin != "doc" or step.kind not in _COMMAND_KINDS:
        raise DoctestError(f"this step's command is not written in the doc as a command ({step.origin} "
                           f"{step.kind} step); change it where it comes from", step.path, step.line)
    old = tuple(step.command.split("\n"))
    if step.line_map and tuple(step.line_map) != tuple(range(step.line, step.line + len(old))):
        raise DoctestError("this step's lines are not consecutive in the doc; write the change by hand",
                           step.path, step.line)
    edit = Edit(step.path, step.line, step.line + len(old) - 1, old, tuple(command.split("\n")))
    return Candidate(step.id, "manual", "walk", description, (edit,), command=command)


def write_back(path: str, before: str, candidates: Sequence[Candidate]) -> str:
    """Write the candidates' edits into the doc at `path` and return its new text. `before`: the doc's text when
    the steps ran; a doc that differs now is refused (one-line DoctestError), as is a patched doc the parser
    would not read as the steps that ran."""
    now = read_source(path)
    if now != before:
        raise DoctestError("changed since the run; not applying a fix verified on other text (run `doctest-runner "
                           "fix` again)", path)
    patched = apply_edits(now, [e for c in candidates for e in c.edits], path)
    for cand in candidates:
        check_patched(now, apply_edits(now, cand.edits, path), path, cand)
    try:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(patched)
    except OSError as exc:
        raise DoctestError(f"cannot write the fix: {exc.strerror or exc}", path) from None
    return patched
