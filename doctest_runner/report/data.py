"""What every report format says the same way: locations, counts, the broken-step list, hints.

Each format (JSON, JUnit, HTML, checklist, terminal) renders these, so a step is named by the
same `path:line` and counted the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from doctest_runner.classify.text import clean_lines
from doctest_runner.model import CATEGORIES, DocResult, RunResult, StepResult, category_group

BROKEN = ("failed", "error")
STEP_STATUSES = ("passed", "failed", "skipped", "not-run", "error")
DOC_STATUSES = ("passed", "failed", "error", "skipped")
NOT_RUN_REASON = "not run: an earlier step failed"

# What to change in the doc, per category (environment ones say what to change in the run instead).
HINTS: dict[str, str] = {
    "package-not-found": "fix the package name, or add the step that sets up its repository (and apt-get update) "
    "before it",
    "command-not-found": "install the tool in an earlier step (or say where it comes from); check the spelling "
    "and the working directory",
    "permission": "run it with sudo; for `sudo cmd > file` write `cmd | sudo tee file`",
    "interactive": "make it non-interactive: add -y / DEBIAN_FRONTEND=noninteractive, drop -t, or mark the step "
    "pty",
    "placeholder": "replace the placeholder with a real value, or set the variable in an earlier step and say so",
    "syntax": "fix the shell syntax (`bash -n` shows it)",
    "service": "install, enable and start the service in an earlier step (`systemctl enable --now`); check its "
    "configuration",
    "output-mismatch": "update the documented output, or use `...` for the parts that vary",
    "unknown": "read the output in the report and fix the step",
    "network": "rerun where the VM has network access; an HTTP 4xx means the URL in the doc is wrong",
    "timeout": "raise the step's timeout, or rerun on a host with KVM; check that it does not wait forever",
    "needs-kvm": "run on a host with (nested) KVM, or mark the step requires=kvm so it is skipped without it",
}


def step_line(sr: StepResult) -> int:
    """The doc line to point at: the failing line inside a multi-line step when known."""
    return sr.failed_line or sr.step.line


def location(sr: StepResult) -> str:
    return f"{sr.step.path}:{step_line(sr)}"


def first_line(command: str, limit: int = 80) -> str:
    """The first non-blank line of a command, cut for one-line listings."""
    for line in command.splitlines():
        if line.strip():
            text = line.strip()
            more = len([ln for ln in command.splitlines() if ln.strip()]) > 1
            if len(text) > limit:
                return text[: limit - 1].rstrip() + "…"
            return text + (" …" if more else "")
    return ""


def broken_command(sr: StepResult, limit: int = 80) -> str:
    """The command line at the failing doc line of a multi-line step (the one to fix), else its first line."""
    step = sr.step
    if sr.failed_line and sr.failed_line != step.line and sr.failed_line in step.line_map:
        text = step.command.splitlines()[step.line_map.index(sr.failed_line)].strip()
        if text:
            return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return first_line(step.command, limit)


def is_broken(sr: StepResult) -> bool:
    return sr.status in BROKEN


def reason(sr: StepResult) -> str | None:
    """Why a step did not run: the plan's skip reason, or the runner's note."""
    if sr.status == "skipped":
        return sr.step.reason or sr.step.options.reason or sr.explanation or "skipped"
    if sr.status == "not-run":
        return sr.explanation or NOT_RUN_REASON
    return None


def explanation(sr: StepResult) -> str | None:
    return sr.explanation if sr.status not in ("skipped", "not-run") else None


def output_tail(sr: StepResult, lines: int = 20) -> str:
    """The last lines a reader saw (escapes and progress redraws removed)."""
    cleaned = clean_lines(sr.output)
    while cleaned and not cleaned[-1].strip():
        cleaned.pop()
    return "\n".join(cleaned[-lines:])


def category_of(sr: StepResult) -> str | None:
    """A broken step always has a category; an unclassified one is `unknown`."""
    if not is_broken(sr):
        return sr.category if sr.category in CATEGORIES else None
    return sr.category if sr.category in CATEGORIES else "unknown"


@dataclass
class BrokenStep:
    """One broken step, once, even when the guide ran on several images."""

    path: str
    line: int
    step: StepResult
    category: str
    group: str
    images: list[str] = field(default_factory=list)

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


def broken_steps(run: RunResult) -> list[BrokenStep]:
    """Broken steps in run order, each step (doc path + step id) listed once."""
    seen: dict[tuple[str, str], BrokenStep] = {}
    for doc in run.docs:
        for sr in doc.steps:
            if not is_broken(sr):
                continue
            key = (sr.step.path or doc.path, sr.step.id)
            if key in seen:
                if doc.image not in seen[key].images:
                    seen[key].images.append(doc.image)
                continue
            cat = category_of(sr) or "unknown"
            seen[key] = BrokenStep(
                path=sr.step.path or doc.path,
                line=step_line(sr),
                step=sr,
                category=cat,
                group=category_group(cat) or "doc",
                images=[doc.image],
            )
    return list(seen.values())


def doc_counts(doc: DocResult) -> dict[str, int]:
    counts = {s: 0 for s in STEP_STATUSES}
    for sr in doc.steps:
        counts[sr.status] = counts.get(sr.status, 0) + 1
    return counts


def summary(run: RunResult) -> dict[str, object]:
    """Counts for the whole run, the same in every format."""
    docs = {"total": len(run.docs), **{s: 0 for s in DOC_STATUSES}}
    steps = {"total": 0, **{s: 0 for s in STEP_STATUSES}}
    categories: dict[str, int] = {}
    groups = {"doc": 0, "environment": 0}
    for doc in run.docs:
        docs[doc.status] = docs.get(doc.status, 0) + 1
        for sr in doc.steps:
            steps["total"] += 1
            steps[sr.status] = steps.get(sr.status, 0) + 1
    broken = broken_steps(run)
    for b in broken:
        categories[b.category] = categories.get(b.category, 0) + 1
        groups[b.group] += 1
    checks_failed = sum(1 for doc in run.docs for c in doc.checks if not c.passed)
    return {
        "docs": docs,
        "steps": steps,
        "categories": dict(sorted(categories.items())),
        "groups": groups,
        "broken": [b.location for b in broken],
        "checks_failed": checks_failed,
        "duration_s": round(sum(doc.duration_s for doc in run.docs), 3),
        "passed": docs["total"] > 0 and docs["failed"] == 0 and docs["error"] == 0,
    }
