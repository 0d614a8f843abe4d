"""Run every rule over a plan; plan and lint a set of paths.

Findings are sorted by path then line, and identical ones are merged: the same doc planned for
several images yields the same findings, which a reader wants once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from doctest_runner.lint.context import LintContext
from doctest_runner.lint.rules import MODULES, syntax
from doctest_runner.model import DoctestError, Finding, Plan

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class LintReport:
    findings: list[Finding]
    errors: list[DoctestError] = field(default_factory=list)  # paths that could not be planned at all
    docs: list[str] = field(default_factory=list)  # the docs that were linted
    notes: list[str] = field(default_factory=list)  # planner notes, e.g. files skipped in a dir

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)


def _key(f: Finding) -> tuple:
    return (f.path, f.line, _SEVERITY_ORDER.get(f.severity, 9), f.rule, f.message, f.hint, f.step_id or "")


def dedupe_sorted(findings: list[Finding]) -> list[Finding]:
    """Sorted by path, line (then severity, rule); identical findings once."""
    seen: set[tuple] = set()
    out = []
    for f in sorted(findings, key=_key):
        k = _key(f)
        if k in seen:
            continue
        seen.add(k)
        out.append(f)
    return out


def lint_plan(plan: Plan) -> list[Finding]:
    """Every rule's findings for one plan, sorted and deduplicated."""
    ctx = LintContext.build(plan)
    syntax.prepare(ctx)
    findings: list[Finding] = []
    for module in MODULES:
        findings.extend(module.check(ctx))
    return dedupe_sorted(findings)


def _merge_notes(findings: list[Finding]) -> list[Finding]:
    """'shellcheck is not installed' once per run, not once per doc."""
    out, seen_missing = [], False
    for f in findings:
        if f.rule == "shellcheck" and f.severity == "info":
            if seen_missing:
                continue
            seen_missing = True
        out.append(f)
    return out


def lint_paths(args: list[str], source: str | None = None, workers: int = 4) -> LintReport:
    """Plan `args` (docs or directories) and lint every plan; bad inputs become `errors`."""
    from doctest_runner.plan import plan_paths  # the planner: imported late, lint_plan does not need it

    planset = plan_paths(list(args), source=source)
    plans = list(planset.plans)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(lint_plan, plans))
    findings = _merge_notes(dedupe_sorted([f for r in results for f in r]))
    docs = sorted({p.path for p in plans})
    errors = [e if isinstance(e, DoctestError) else DoctestError(str(e)) for e in planset.errors]
    notes = [str(n) for n in getattr(planset, "notes", [])]
    return LintReport(findings, errors, docs, notes)
