"""`run --annotations github`: each broken step as a GitHub annotation at its doc line, and a job summary.

GitHub shows a workflow command `::error file=docs/a.md,line=12,title=...::...` on that line of the pull
request's "Files changed" tab and in the run's summary, so a doc writer sees which documented step broke
without opening the reports. The levels follow who has to act:

* `error`: a doc bug (the doc must change), a failed sidecar check (the guide does not leave the machine as
  promised), and a guide that could not run at all (the job fails for it whatever `--fail-on` says);
* `warning`: an environment problem (network, timeout, KVM, another platform, a prerequisite the guide
  assumes, a step given only in words): visible on the line, but not something to fix in the doc, and with
  `--fail-on doc` it does not fail the job either;
* `notice`: a step that failed only after an earlier failure (its first failure carries the level) and an
  output that differs from the documented one: context, not a second bug.

Errors come first: GitHub shows at most 10 annotations of each level per step, so the doc bugs are the
ones kept. When `$GITHUB_STEP_SUMMARY` names a file, a Markdown summary (totals and a table of what broke,
`file:line`, category, reason) is appended to it; the job's summary page renders it.

Everything here is built from the RunResult through report/data.py, so it names and counts steps like
checklist.md and the terminal summary.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from doctest_runner.model import DoctestError, RunResult
from doctest_runner.report import data
from doctest_runner.report.checklist import md
from doctest_runner.report.github import Level, annotation
from doctest_runner.text import one_line, plural

KINDS = ("github",)
SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
MAX_TABLE_ROWS = 100  # a summary stays readable (and far below GitHub's 1 MiB per step)
MAX_CELL = 300  # characters of evidence or explanation in one table cell
_ORDER = {"error": 0, "warning": 1, "notice": 2}


@dataclass
class Annotation:
    """One annotation: where, how loud, and what it says (the message may hold line breaks)."""

    level: Level
    file: str
    line: int
    title: str
    message: str
    category: str  # for the summary table: a step's category, `check`, or `harness`
    group: str  # doc bug | environment | after an earlier failure | check | could not run | output
    reason: str  # one line for the summary table
    images: list[str] = field(default_factory=list)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def command(self) -> str:
        return annotation(self.level, self.message, file=self.file, line=self.line, title=self.title)


def _hint(category: str) -> str | None:
    """What to change; categories that quote the guide's own sentence say it in their explanation."""
    if category in data.QUOTING_CATEGORIES:
        return None
    return data.HINTS.get(category, data.HINTS["unknown"])


def _cut(text: str, limit: int = MAX_CELL) -> str:
    text = one_line(text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _step_annotations(run: RunResult, multi_image: bool) -> list[Annotation]:
    out: list[Annotation] = []
    for b in data.broken_steps(run):
        sr = b.step
        on = f" (on {', '.join(b.images)})" if multi_image else ""
        evidence = sr.evidence or "(no output)"
        if b.after is not None:  # a cascade: named, but as context of its first failure
            after = data.after_failure_text(b.after, b.path) or "failed after an earlier failure"
            out.append(Annotation(
                level="notice", file=b.path, line=b.line, title=f"{b.category}: {after}",
                message=f"{after}{on}\n$ {data.broken_command(sr)}\n{evidence}",
                category=b.category, group="after an earlier failure", reason=f"{after}: {evidence}",
                images=list(b.images)))
            continue
        doc_bug = b.group == "doc"
        lines = [f"{sr.explanation or b.category}{on}", f"$ {data.broken_command(sr)}", evidence]
        if b.later:
            lines.append(f"{data.later_text(b)} ({data.later_lines(b)})")
        hint = _hint(b.category)
        if hint:
            lines.append(("fix: " if doc_bug else "not the doc's fault: ") + hint)
        out.append(Annotation(
            level="error" if doc_bug else "warning", file=b.path, line=b.line,
            title=f"{b.category} (doc bug)" if doc_bug else f"{b.category} (environment, not the doc)",
            message="\n".join(lines), category=b.category, group="doc bug" if doc_bug else "environment",
            reason=f"{sr.explanation or b.category} — {evidence}", images=list(b.images)))
    return out


def _check_annotations(run: RunResult) -> list[Annotation]:
    """Failed sidecar checks at the sidecar line that declares them; one per check, even on several images."""
    seen: dict[tuple[str, int, str], Annotation] = {}
    for doc in run.docs:
        for cr in doc.checks:
            if cr.passed:
                continue
            file, line = (cr.check.path, cr.check.line) if cr.check.path and cr.check.line else (doc.path, 1)
            what = f"{cr.check.kind} {cr.check.target}"
            key = (file, line, f"{doc.path} {what} {cr.message}")
            if key in seen:
                if doc.image not in seen[key].images:
                    seen[key].images.append(doc.image)
                continue
            seen[key] = Annotation(
                level="error", file=file, line=line, title=f"check {what} failed",
                message=f"after {doc.path}: {what}: {cr.message or 'failed'}\n"
                "the guide's steps do not leave the machine as its checks expect",
                category="check", group="check", reason=f"{doc.path}: {what}: {cr.message or 'failed'}",
                images=[doc.image])
    return list(seen.values())


def _guide_errors(run: RunResult, plan_errors: list[DoctestError]) -> list[Annotation]:
    """Guides that could not run (a VM that did not boot), and docs or sidecars that could not be planned."""
    out: list[Annotation] = []
    for doc in run.docs:
        if doc.error and doc.status != "skipped":
            out.append(Annotation(
                level="error", file=doc.path, line=1, title=f"guide could not run on {doc.image}",
                message=doc.error, category="harness", group="could not run", reason=doc.error,
                images=[doc.image]))
    for err in plan_errors:
        if not err.path:
            continue
        out.append(Annotation(
            level="error", file=err.path, line=err.line or 1, title="could not be planned",
            message=err.message, category="parse", group="could not run", reason=err.message))
    return out


def _output_notices(run: RunResult) -> list[Annotation]:
    out: list[Annotation] = []
    seen: set[tuple[str, str]] = set()
    for doc in run.docs:
        for sr in doc.steps:
            if not sr.output_warning or data.is_broken(sr):
                continue
            key = (sr.step.path or doc.path, sr.step.id)
            if key in seen:
                continue
            seen.add(key)
            out.append(Annotation(
                level="notice", file=sr.step.path or doc.path, line=sr.step.line,
                title="output differs from the doc",
                message=f"{sr.output_warning}\n$ {data.broken_command(sr)}\nfix: {data.HINTS['output-mismatch']}",
                category="output-mismatch", group="output", reason=sr.output_warning, images=[doc.image]))
    return out


def run_annotations(run: RunResult, plan_errors: list[DoctestError] | None = None) -> list[Annotation]:
    """Every annotation of a run, errors first, then warnings, then notices; run order within a level."""
    multi_image = len({d.image for d in run.docs}) > 1
    found = (_step_annotations(run, multi_image) + _check_annotations(run) + _guide_errors(run, plan_errors or [])
             + _output_notices(run))
    return sorted(found, key=lambda a: _ORDER[a.level])  # sorted() is stable: run order within a level


def annotation_lines(run: RunResult, plan_errors: list[DoctestError] | None = None) -> list[str]:
    """The workflow command lines to print on stdout."""
    return [a.command() for a in run_annotations(run, plan_errors)]


def step_summary_markdown(run: RunResult, plan_errors: list[DoctestError] | None = None) -> str:
    """The job summary: verdict, totals, and a table of every broken step, failed check and guide that
    could not run (doc bugs first), each at `file:line`."""
    s = data.summary(run)
    docs, steps, groups = s["docs"], s["steps"], s["groups"]
    verdict = "passed" if s["passed"] and not plan_errors else "FAILED"
    doc_parts = [f"{docs[k]} {k}" for k in ("passed", "failed", "error", "skipped") if docs[k]]
    step_parts = [f"{steps[k]} {k}" for k in ("passed", "failed", "error", "not-run", "skipped") if steps[k]]
    images = list(dict.fromkeys(d.image for d in run.docs))
    lines = [
        f"## doctest-runner: {verdict}",
        "",
        (f"Run {md(run.run_id)} on {md(', '.join(images) or 'no image')} ({md(run.host.accel)}): "
         f"{plural(docs['total'], 'guide')} ({', '.join(doc_parts) or 'none run'}), "
         f"{plural(steps['total'], 'step')} ({', '.join(step_parts) or 'none'})."),
        "",
    ]
    found = [a for a in run_annotations(run, plan_errors) if a.group != "output"]
    counts = [
        f"**{plural(groups['doc'], 'doc bug')}**",
        f"{plural(groups['environment'], 'environment problem')} (not the docs' fault)",
    ]
    if s["after_failure"]:
        counts.append(f"{s['after_failure']} failed after an earlier failure")
    if s["checks_failed"]:
        counts.append(plural(s["checks_failed"], "failed check"))
    not_run = sum(1 for a in found if a.group == "could not run")
    if not_run:
        counts.append(f"{not_run} could not run")
    lines += [", ".join(counts) + ".", ""]
    if not found:
        lines += ["Every guide that ran passed.", ""]
        return "\n".join(lines)
    multi_image = len(images) > 1
    head = ["Where", "Category", "Kind", "Reason"] + (["Images"] if multi_image else [])
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for a in found[:MAX_TABLE_ROWS]:
        cells = [md(a.location), md(a.category), md(a.group), md(_cut(a.reason))]
        if multi_image:
            cells.append(md(", ".join(a.images)))
        lines.append("| " + " | ".join(cells) + " |")
    if len(found) > MAX_TABLE_ROWS:
        lines.append("")
        lines.append(f"… and {len(found) - MAX_TABLE_ROWS} more: see checklist.md and report.html.")
    lines.append("")
    return "\n".join(lines)


def nothing_ran_markdown(message: str) -> str:
    """The job summary of a run that had nothing to do (`--changed REF` touched no guide)."""
    return f"## doctest-runner: nothing to run\n\n{md(message)}\n"


def append_summary(path: str | Path, markdown: str) -> None:
    """Append to the job summary file (GitHub gives each step its own, and renders it after the step)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(markdown.rstrip("\n") + "\n\n")


def emit(kind: str, run: RunResult | None, *, out: TextIO, environ: Mapping[str, str] | None = None,
         plan_errors: list[DoctestError] | None = None, nothing: str | None = None) -> str | None:
    """Print the annotations of `run` to `out` and append the job summary where $GITHUB_STEP_SUMMARY says
    (with `run` None, only a summary saying `nothing`). Returns a one-line problem to print, or None: a summary
    that cannot be written does not change the run's verdict."""
    if kind not in KINDS:
        raise DoctestError(f"--annotations: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    env = os.environ if environ is None else environ
    if run is not None:
        for line in annotation_lines(run, plan_errors):
            out.write(line + "\n")
        out.flush()
    target = env.get(SUMMARY_ENV)
    if not target:
        return None
    markdown = step_summary_markdown(run, plan_errors) if run is not None else nothing_ran_markdown(nothing or "")
    try:
        append_summary(target, markdown)
    except OSError as exc:
        return f"cannot write the job summary to ${SUMMARY_ENV} ({target}): {exc.strerror or exc}"
    return None
