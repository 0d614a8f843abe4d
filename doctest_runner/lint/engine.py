"""Run every rule over a plan; plan and lint a set of paths.

Findings are sorted by path then line, and identical ones are merged: the same doc planned for
several images yields the same findings, which a reader wants once.

Limits (docs come from anyone; README "Running on untrusted docs"): `lint_paths` reads docs up
to MAX_LINT_DOC_BYTES, and gives each doc DOC_BUDGET_S of lint time. A doc over its budget gets
one error line; the findings found so far are kept and the other docs go on. Where the time went
on a 5 MB command-dense doc: shellcheck on one batch of every step, which grows with the square of
its input (over 8 GB and a timeout that silently dropped every finding), now in small batches
(rules/shellcheck.py); the Python rules and the parser are linear (about 10 s per MB each).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from doctest_runner.lint.context import LintBudgetExceeded, LintContext
from doctest_runner.lint.rules import MODULES, syntax
from doctest_runner.model import DoctestError, Finding, Plan
from doctest_runner.plan import plan_paths

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

MAX_LINT_DOC_BYTES = 1024 * 1024  # a larger doc is not linted (the largest real guides are ~100 KB)
DOC_BUDGET_S = 60.0  # lint time of one doc (a 100 KB guide takes a few seconds)


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
    return lint_plan_within(plan, None)[0]


def lint_plan_within(plan: Plan, budget_s: float | None) -> tuple[list[Finding], DoctestError | None]:
    """`lint_plan` with a time budget: the findings, and an error when the budget ran out first (the
    rules are stopped between rules, and shellcheck inside its own work)."""
    deadline = time.monotonic() + budget_s if budget_s is not None else None
    findings: list[Finding] = []
    try:
        ctx = LintContext.build(plan)
        ctx.deadline = deadline
        syntax.prepare(ctx)
        for module in MODULES:
            if deadline is not None and time.monotonic() >= deadline:
                raise LintBudgetExceeded()
            findings.extend(module.check(ctx))
    except LintBudgetExceeded:
        error = DoctestError(f"lint stopped at its time budget of {budget_s:g} s for one doc; "
                             "the rest of this doc is not checked", plan.path)
        return dedupe_sorted(findings), error
    return dedupe_sorted(findings), None


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


def lint_paths(args: list[str], source: str | None = None, workers: int = 4,
               budget_s: float | None = DOC_BUDGET_S) -> LintReport:
    """Plan `args` (docs or directories) and lint every plan; bad inputs become `errors`, and so does
    a doc over MAX_LINT_DOC_BYTES or over its time budget (`budget_s` each; None: no budget)."""
    planset = plan_paths(list(args), source=source, max_doc_bytes=MAX_LINT_DOC_BYTES)
    plans = list(planset.plans)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(lambda plan: lint_plan_within(plan, budget_s), plans))
    findings = _merge_notes(dedupe_sorted([f for r, _ in results for f in r]))
    docs = sorted({p.path for p in plans})
    errors = [e if isinstance(e, DoctestError) else DoctestError(str(e)) for e in planset.errors]
    seen: set[str] = set()
    for _, error in results:  # once per doc, not once per plan of it
        if error is not None and str(error) not in seen:
            seen.add(str(error))
            errors.append(error)
    notes = [str(n) for n in getattr(planset, "notes", [])]
    return LintReport(findings, errors, docs, notes)
