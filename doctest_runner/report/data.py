"""What every report format says the same way: locations, counts, the broken-step list, hints.

Each format (JSON, JUnit, HTML, checklist, terminal) renders these, so a step is named by the
same `path:line` and counted the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from doctest_runner.fix import Fix
from doctest_runner.model import CATEGORIES, DocResult, RunResult, StepResult, category_group
from doctest_runner.text import clean_lines

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
    "platform-mismatch": "the step is for another platform: run the guide on an image of that platform, or skip "
    "the step (`platform:` / `skip:` in a sidecar)",
    "prerequisite": "provide what the guide assumes with a sidecar `setup:` (or an image that has it)",
    "prose-step": "the guide gives this step only in words: supply the command with a sidecar `insert:` rule "
    "(or add it to the doc)",
}
# Categories whose explanation quotes the guide's own sentence: reports show it instead of the generic hint.
QUOTING_CATEGORIES = ("prerequisite", "prose-step")


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
    group: str  # a cascade's is its first failure's: a consequence of a network failure is no doc bug
    images: list[str] = field(default_factory=list)
    after: str | None = None  # a cascade: `path:line` of the first failure it follows from
    later: list[BrokenStep] = field(default_factory=list)  # a first failure: the steps that failed after it

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
                after=sr.after_failure,
            )
    out = list(seen.values())
    _link_cascades(out)
    return out


def _link_cascades(broken: list[BrokenStep]) -> None:
    """Tie each cascade to its first failure (group and `later`); one whose first failure is not among them
    (a report cut short) stands on its own."""
    firsts = {b.location: b for b in broken if b.after is None}
    for b in broken:
        if b.after is None:
            continue
        root = firsts.get(b.after)
        if root is None:
            b.after = None
            continue
        b.group = root.group
        root.later.append(b)


def first_failures(run: RunResult) -> list[BrokenStep]:
    """The broken steps that are not cascades, in run order, each with the steps that failed after it."""
    return [b for b in broken_steps(run) if b.after is None]


def after_failure_text(after: str | None, path: str) -> str | None:
    """`failed after an earlier failure (line N)`; the whole `path:line` when the first failure is in
    another file (a sidecar's setup)."""
    if not after:
        return None
    where_path, _, line = after.rpartition(":")
    where = f"line {line}" if where_path == path else after
    return f"failed after an earlier failure ({where})"


def later_text(b: BrokenStep) -> str:
    """`and K later steps failed after it`, or '' when none did."""
    k = len(b.later)
    if not k:
        return ""
    return f"and {k} later step{'' if k == 1 else 's'} failed after it"


def later_lines(b: BrokenStep) -> str:
    """`line 15` / `lines 15, 16, 22` of the steps that failed after a first failure (`path:line` for
    another file)."""
    where = [str(x.line) if x.path == b.path else x.location for x in b.later]
    return ("line " if len(where) == 1 else "lines ") + ", ".join(where)


def doc_groups(doc: DocResult) -> dict[str, str]:
    """Step id -> the group a broken step counts in: its own category's, or for a cascade its first
    failure's (so --fail-on doc and report.json agree with the checklist)."""
    where = {}
    for sr in doc.steps:
        if is_broken(sr) and sr.after_failure is None:
            where[location(sr)] = category_group(category_of(sr)) or "doc"
    out: dict[str, str] = {}
    for sr in doc.steps:
        if not is_broken(sr):
            continue
        own = category_group(category_of(sr)) or "doc"
        out[sr.step.id] = where.get(sr.after_failure, own) if sr.after_failure else own
    return out


def doc_counts(doc: DocResult) -> dict[str, int]:
    counts = {s: 0 for s in STEP_STATUSES}
    for sr in doc.steps:
        counts[sr.status] = counts.get(sr.status, 0) + 1
    return counts


class Summary(TypedDict):
    """The run's counts (report.json's `summary`): keys typed so every format reads them the same way."""

    docs: dict[str, int]  # total, and per doc status
    steps: dict[str, int]  # total, and per step status
    categories: dict[str, int]
    groups: dict[str, int]  # doc / environment, cascades not counted
    broken: list[str]  # path:line of each broken step
    after_failure: int
    checks_failed: int
    duration_s: float
    passed: bool


def summary(run: RunResult) -> Summary:
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
    after_failure = 0
    for b in broken:
        categories[b.category] = categories.get(b.category, 0) + 1
        if b.after is not None:  # a cascade is counted apart, not as one more bug
            after_failure += 1
            continue
        groups[b.group] += 1
    checks_failed = sum(1 for doc in run.docs for c in doc.checks if not c.passed)
    return {
        "docs": docs,
        "steps": steps,
        "categories": dict(sorted(categories.items())),
        "groups": groups,
        "broken": [b.location for b in broken],
        "after_failure": after_failure,
        "checks_failed": checks_failed,
        "duration_s": round(sum(doc.duration_s for doc in run.docs), 3),
        "passed": docs["total"] > 0 and docs["failed"] == 0 and docs["error"] == 0,
    }


def fixes(sr: StepResult) -> list[Fix]:
    """The candidate fixes `run --suggest-fixes` tried for this step (none without the option)."""
    return [f for f in sr.fixes if isinstance(f, Fix)]


def fix_proof(fix: Fix) -> str:
    """A fix's verdict and its proof, as every format says it: "verified: the guide passes to the end with this
    change (12.3 s)", "rejected: the fixed step still fails: ...", then the patch that holds it."""
    text = f"{fix.verdict.status}: {fix.verdict.reason} ({fix.verdict.duration_s:.1f} s)"
    return text + (f"; patch {fix.patch}" if fix.patch else "")


def fix_change(fix: Fix) -> str:
    """The changed doc text of a fix, one edit after another (what a reviewer reads)."""
    return "\n".join(line for edit in fix.candidate.edits for line in edit.new)
