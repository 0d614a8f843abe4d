"""What a fix round leaves for people: `fixes/<doc path>.patch` (verified fixes only, `git apply`-able from the
doc set root) and `fixes.md` (every candidate with its verdict, as GitHub suggestion blocks a reviewer can commit),
plus the record `report.json` would carry for each candidate.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from doctest_runner.model import DoctestError
from doctest_runner.text import one_line

from .model import Candidate, Verdict
from .patch import apply_edits, check_patched, read_source, suggestion, unified_diff

__all__ = ["Fix", "fix_record", "with_patches", "write_fixes"]


@dataclass(frozen=True)
class Fix:
    """One candidate and what its verification run showed; `patch`: the patch file (under the output folder)
    that holds it, once `write_fixes` wrote one (`with_patches`)."""

    candidate: Candidate
    verdict: Verdict
    patch: str | None = None


FIXES_MD = "fixes.md"  # beside report.json in a --suggest-fixes run's output folder (and a merge of its shards)


def _rel(path: str, root: str) -> str:
    """The doc's path as the patch names it: relative to the doc set root."""
    return Path(os.path.relpath(path, root or ".")).as_posix()


def _chosen(fixes: Sequence[Fix]) -> dict[str, list[Fix]]:
    """Per doc, the first verified candidate of each failed step that has doc edits (proposers list best first)."""
    per_doc: dict[str, list[Fix]] = {}
    done: set[str] = set()
    for fix in fixes:
        cand = fix.candidate
        if fix.verdict.status != "verified" or cand.placeholder or not cand.edits or cand.step_id in done:
            continue
        done.add(cand.step_id)
        per_doc.setdefault(cand.edits[0].path, []).append(fix)
    return per_doc


def with_patches(fixes: Sequence[Fix], written: dict[str, str]) -> list[Fix]:
    """`fixes` with `patch` set on the ones `write_fixes` put in a patch (`written`: what it returned)."""
    chosen = {id(f) for doc_fixes in _chosen(fixes).values() for f in doc_fixes}
    return [replace(f, patch=written.get(f.candidate.edits[0].path)) if id(f) in chosen else f for f in fixes]


def fix_record(fix: Fix, patch: str | None = None) -> dict[str, object]:
    """The JSON object for one candidate under its failed step in report.json (`patch`: default `fix.patch`)."""
    cand, verdict = fix.candidate, fix.verdict
    patch = patch if patch is not None else fix.patch
    return {
        "proposer": cand.proposer,
        "category": cand.category,
        "description": cand.description,
        "verdict": verdict.status,
        "reason": verdict.reason,
        "duration_s": round(verdict.duration_s, 3),
        "before_line": verdict.before_line,
        "after_line": verdict.after_line,
        "placeholder": cand.placeholder,
        "command": cand.command,
        "insert_before": list(cand.insert_before),
        "expected_output": cand.expected_output,
        # old/role/anchor: what `write_fixes` needs to rebuild the patch from the report alone (`merge` of shards)
        "edits": [{"path": e.path, "line": e.line, "end_line": e.end_line, "new": list(e.new), "old": list(e.old),
                   "role": e.role, "anchor": e.anchor} for e in cand.edits],
        "patch": patch,
    }


def _fence(lines: Sequence[str]) -> str:
    longest = max((len(ln) - len(ln.lstrip("`")) for ln in lines if ln.lstrip().startswith("```")), default=0)
    return "`" * max(3, longest + 1)


def write_fixes(out_dir: str | os.PathLike[str], fixes: Sequence[Fix], root: str = ".",
                read: Callable[[str], str] = read_source) -> dict[str, str]:
    """Write the patches and fixes.md under `out_dir`; returns doc path -> patch file (relative to `out_dir`).

    `root`: the doc set root, which patch paths are relative to. `read(path)` gives a doc's current text (the
    file on disk by default). A doc that changed since the run gets no patch; fixes.md says why."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    problems: dict[str, str] = {}
    for path, chosen in _chosen(fixes).items():
        rel = _rel(path, root)
        if rel.startswith("../") or rel == "..":
            problems[path] = f"{path}: outside the doc set root {root}; a patch there could not be applied from it"
            continue
        try:
            source = read(path)
            for fix in chosen:
                check_patched(source, apply_edits(source, fix.candidate.edits, path), path, fix.candidate)
            patched = apply_edits(source, [e for f in chosen for e in f.candidate.edits], path)
        except DoctestError as exc:
            problems[path] = str(exc)
            continue
        target = out / "fixes" / f"{rel}.patch"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(unified_diff(source, patched, rel), encoding="utf-8", newline="")
        written[path] = target.relative_to(out).as_posix()
    (out / FIXES_MD).write_text(_markdown(fixes, written, problems, read), encoding="utf-8")
    return written


def _markdown(fixes: Sequence[Fix], written: dict[str, str], problems: dict[str, str],
              read: Callable[[str], str]) -> str:
    lines = ["# Proposed fixes", ""]
    if not fixes:
        lines.append("No failed step had a fix to propose.")
    by_doc: dict[str, list[Fix]] = {}
    for fix in fixes:
        path = fix.candidate.edits[0].path if fix.candidate.edits else fix.candidate.step_id.rsplit(":", 1)[0]
        by_doc.setdefault(path, []).append(fix)
    for path, doc_fixes in by_doc.items():
        lines += [f"## {one_line(path)}", ""]
        if path in written:
            lines += [f"Verified patch: `{written[path]}` (apply with `git apply` from the doc set root).", ""]
        if path in problems:
            lines += [f"No patch: {one_line(problems[path])}", ""]
        for fix in doc_fixes:
            lines += _entry(fix, read)
    return "\n".join(lines).rstrip() + "\n"


def _entry(fix: Fix, read: Callable[[str], str]) -> list[str]:
    cand, verdict = fix.candidate, fix.verdict
    where = f"{one_line(cand.step_id.split('#')[0])}"
    lines = [f"### {where}: {cand.category}: {verdict.status} ({verdict.duration_s:.1f} s)", "",
             f"{one_line(cand.description)} (proposer `{cand.proposer}`).", "",
             f"Verification: {one_line(verdict.reason)}.", ""]
    if cand.placeholder:
        lines += ["A person must fill the marked value before this can be applied.", ""]
    for edit in cand.edits:
        try:
            first, last, new = suggestion(read(edit.path), edit)
        except DoctestError as exc:
            lines += [f"(no suggestion: {one_line(exc)})", ""]
            continue
        span = f"line {first}" if first == last else f"lines {first}-{last}"
        fence = _fence(new)
        lines += [f"`{one_line(edit.path)}` {span}:", "", f"{fence}suggestion", *new, fence, ""]
    return lines
