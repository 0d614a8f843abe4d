"""Whether a candidate fixed the guide: the step list to run with it, and the verdict of that run.

`verified` only when the fixed step (and any step it inserts) passes and the guide then runs to the end; `partial`
when it gets past the old failure but fails later; `rejected` when the fixed step still fails or a failure appears
at or before where the old one was. A candidate holding a placeholder a person must fill is never `verified`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from doctest_runner.model import DoctestError, Step, StepOptions, StepResult

from .model import Candidate, Verdict

__all__ = ["apply_to_steps", "decide", "inserted_id"]

_FAILED = ("failed", "error")


def inserted_id(step_id: str, n: int) -> str:
    """Id of the n-th (1-based) step a candidate inserts before `step_id`: never a doc step's id."""
    return f"{step_id}+fix{n}"


def apply_to_steps(steps: Sequence[Step], candidate: Candidate) -> list[Step]:
    """The guide's steps with the candidate applied (the inputs are left as they were)."""
    out: list[Step] = []
    found = False
    for step in steps:
        if step.id != candidate.step_id:
            out.append(step)
            continue
        found = True
        for n, command in enumerate(candidate.insert_before, 1):
            out.append(replace(
                step, id=inserted_id(step.id, n), command=command, end_line=step.line,
                line_map=(step.line,) * len(command.split("\n")), expected_output=None,
                kind=step.kind if step.kind in ("prompted", "bare") else "bare", file_path=None,
                options=StepOptions(user=step.options.user, timeout=step.options.timeout), status="run", reason=None,
            ))
        changed = step
        if candidate.command is not None:
            count = len(candidate.command.split("\n"))
            line_map = step.line_map if len(step.line_map) == count else tuple(
                step.line_map[k] if k < len(step.line_map) else step.end_line for k in range(count))
            changed = replace(changed, command=candidate.command, line_map=line_map)
        if candidate.expected_output is not None:
            changed = replace(changed, expected_output=candidate.expected_output)
        out.append(changed)
    if not found:
        raise DoctestError(f"the fix is for step {candidate.step_id}, which this guide does not have",
                           steps[0].path if steps else None)
    return out


def _first_failure(results: Sequence[StepResult]) -> StepResult | None:
    return next((r for r in results if r.status in _FAILED), None)


def _where(result: StepResult | None) -> int | None:
    if result is None:
        return None
    return result.failed_line or result.step.line


def _describe(result: StepResult) -> str:
    return f"{result.step.path}:{_where(result)} ({result.category or result.status})"


def decide(before: Sequence[StepResult], after: Sequence[StepResult], candidate: Candidate,
           duration_s: float | None = None, checks_passed: bool = True) -> Verdict:
    """The verdict of one candidate from the original run's results and the results of the run with it.

    `after` holds what ran with the candidate (from the restored checkpoint on, or the whole guide replayed);
    its steps are the edited ones (`apply_to_steps`). `duration_s` defaults to the time `after`'s steps took.
    `checks_passed`: the sidecar's checks of the finished machine (if any) passed after the run with it; a guide
    whose steps all pass but whose promised result is not there is not fixed.
    """
    took = duration_s if duration_s is not None else sum(r.duration_s for r in after)
    old = _first_failure(before)
    old_line = _where(old)
    order = {r.step.id: k for k, r in enumerate(before)}
    fixed_pos = order.get(candidate.step_id, len(before))
    new = _first_failure(after)
    new_line = _where(new)

    def verdict(status: str, reason: str) -> Verdict:
        return Verdict(status, reason, old_line, new_line, took)  # type: ignore[arg-type]

    ours = {candidate.step_id, *(inserted_id(candidate.step_id, n) for n in range(1, len(candidate.insert_before) + 1))}
    ran = {r.step.id: r for r in after}
    missing = [i for i in sorted(ours) if i not in ran]
    if missing:
        return verdict("rejected", "the fixed step did not run")
    bad = [ran[i] for i in sorted(ours) if ran[i].status != "passed"]
    if bad:
        return verdict("rejected", f"the fixed step still fails: {_describe(bad[0])}")
    if new is not None:
        pos = order.get(new.step.id, fixed_pos)
        if pos <= fixed_pos:
            return verdict("rejected", f"a new failure appears before the old one: {_describe(new)}")
    if candidate.placeholder:
        return verdict("partial", "it holds a placeholder a person must fill; it is never verified as it stands")
    if new is None and not checks_passed:
        return verdict("partial", "every step passes, but a check of the finished machine fails")
    if new is None:
        return verdict("verified", "the guide passes to the end with this change")
    return verdict("partial", f"the fixed step passes; the guide now fails later, at {_describe(new)}")
