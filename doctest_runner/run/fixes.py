"""`run --suggest-fixes` (#14), the run side: which failed step gets candidates, reading them from the failed
guest, the plan and options of the run that tries one, and the verdict of that run.

Why only a guide's first failure: every later failure ran after it (or is a cascade of it), so a run that tries a
fix for a later step meets the first failure again and proves nothing. Why candidates are read before the VM goes:
what a proposer needs (package index, unit files, commands on PATH) is the failed guest's, and a fresh machine would
not have what the guide installed before it failed. The candidate runs themselves are ordinary guide runs
(`GuideRun`) over the edited step list, started with `resume`: the steps above the failed one are unchanged, so
their checkpoint key matches and the run starts from the checkpoint before the failed step when the first run kept
one (else it replays the guide from the start); the pure halves (proposers, verdict, patches) live in fix/.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from doctest_runner.fix import (
    PROPOSERS,
    Candidate,
    CapturedFacts,
    Fix,
    Verdict,
    apply_to_steps,
    decide,
    propose,
    read_source,
    with_patches,
    write_fixes,
)
from doctest_runner.model import DocResult, Plan, RunResult, StepResult, category_group

__all__ = ["attach", "candidates", "fixable", "judge", "patch_root", "run_fixes", "trial_options", "trial_plan",
           "write_run_fixes"]

_FAILED = ("failed", "error")
Options = TypeVar("Options")


def fixable(plan: Plan, results: Sequence[StepResult]) -> StepResult | None:
    """The guide's first failure when a proposer can fix it: a doc bug of one of the guide's own steps (not a
    sidecar setup or cleanup step, not a cascade of an earlier failure)."""
    first = next((r for r in results if r.status in _FAILED and not r.after_failure), None)
    if first is None or first.category not in PROPOSERS or category_group(first.category) != "doc":
        return None
    if first.step.origin != "doc" or all(s.id != first.step.id for s in plan.steps):
        return None
    return first


def candidates(plan: Plan, result: StepResult, capture: Callable[[str], str],
               log: Callable[[str], None] = print) -> list[Candidate]:
    """The candidates for `result`, with the guest's facts read through `capture(cmd)` (the guide's user's
    terminal). Only candidates that edit the doc's own lines are kept: a fix that cannot be written back into the
    Markdown (a sidecar's step, a sidecar file) is not one a doc author can take."""
    try:
        found = propose(result, plan.steps, CapturedFacts(capture))
    except Exception as exc:  # noqa: BLE001 - reading the guest is best effort: the failure is reported anyway
        log(f"{plan.path}: no fixes proposed: could not read the guest ({type(exc).__name__}: {exc})")
        return []
    doc = result.step.path
    return [c for c in found if c.edits and all(e.path == doc and e.path != plan.sidecar for e in c.edits)]


def trial_plan(plan: Plan, candidate: Candidate) -> Plan:
    """The guide with the candidate applied to its steps (setup, cleanup, fixtures, checks unchanged, so the
    checkpoint keys of the steps above the failed one match the first run's)."""
    return replace(plan, steps=apply_to_steps(plan.steps, candidate))


def trial_options(options: Options) -> Options:
    """A candidate run's `GuideOptions`: from the checkpoint before the failed step when one matches, stop at the
    first failure, keep no checkpoint and no VM of its own, and propose nothing itself."""
    return replace(options, resume=True, checkpoint="off", keep_going=False,  # type: ignore[type-var]
                   keep_on_failure=False, suggest_fixes=False)


def judge(before: DocResult, after: DocResult, candidate: Candidate, wall_s: float) -> Fix:
    """The verdict of one candidate run. A run the harness could not finish (boot, SSH) proves nothing: rejected,
    saying why, never verified."""
    if after.status == "error":
        first = next((r for r in before.steps if r.status in _FAILED), None)
        line = (first.failed_line or first.step.line) if first is not None else None
        return Fix(candidate, Verdict("rejected", f"the run that tried it could not run: {after.error}", line,
                                      None, wall_s))
    return Fix(candidate, decide(before.steps, after.steps, candidate, duration_s=wall_s,
                                 checks_passed=all(c.passed for c in after.checks)))


def attach(doc: DocResult, fixes: Sequence[Fix]) -> DocResult:
    """The guide's result with each fix listed under the failed step it is for (the results are copied)."""
    by_step: dict[str, list[object]] = {}
    for fix in fixes:
        by_step.setdefault(fix.candidate.step_id, []).append(fix)
    steps = [replace(r, fixes=list(by_step[r.step.id])) if r.step.id in by_step else r for r in doc.steps]
    return replace(doc, steps=steps)


def _toplevel(folder: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def patch_root(paths: Sequence[str]) -> str:
    """Where the patches' paths start, so `git apply` takes them from there: the git work tree that holds every
    doc; else the current folder when it holds them all, else their deepest common folder. Relative to the
    current folder when inside it."""
    if not paths:
        return "."
    tops = {_toplevel(Path(p).resolve().parent) for p in paths}
    top = tops.pop() if len(tops) == 1 else None
    if top is None:
        cwd = os.getcwd()
        common = os.path.commonpath([str(Path(p).resolve().parent) for p in paths])
        top = cwd if os.path.commonpath([cwd, common]) == cwd else common
    rel = os.path.relpath(top)
    return top if rel.startswith("..") else rel


def run_fixes(run: RunResult) -> list[Fix]:
    """Every fix on the run's steps, in report order (guides, then steps, then each step's candidates best first)."""
    return [f for doc in run.docs for sr in doc.steps for f in sr.fixes if isinstance(f, Fix)]


def write_run_fixes(run: RunResult, out_dir: Path | str,
                    read: Callable[[str], str] = read_source) -> list[str]:
    """fixes.md and fixes/<doc>.patch in `out_dir` for the fixes on `run`'s steps (a run's, or shards' merged), in
    report order; each step's fixes then name the patch that holds them (for report.json). Returns notes for the user:
    a verified fix that got no patch (its doc is not readable from here, or changed since the shard ran).

    `patch` values already on the fixes are dropped first: a shard's name files in the shard folders, cut from a
    root that may not be the merged run's."""
    fixes = run_fixes(run)
    cleared = [replace(f, patch=None) for f in fixes]
    root = patch_root(sorted({f.candidate.edits[0].path for f in cleared if f.candidate.edits}))
    written = write_fixes(out_dir, cleared, root=root, read=read)
    final = {id(old): new for old, new in zip(fixes, with_patches(cleared, written))}
    for doc in run.docs:
        for sr in doc.steps:
            if sr.fixes:
                sr.fixes[:] = [final.get(id(f), f) for f in sr.fixes]
    verified = dict.fromkeys(f.candidate.edits[0].path for f in cleared
                             if f.verdict.status == "verified" and not f.candidate.placeholder and f.candidate.edits)
    return [f"{path}: a verified fix but no patch (fixes.md says why; run merge where the shards read the docs)"
            for path in verified if path not in written]
