"""`doctest-runner lint`: the doc bugs that can be found without booting anything.

Exit status: 1 when an error-level finding exists (or a path could not be planned), 0 otherwise,
2 for usage errors (no doc found in the arguments, bad option).
"""

from __future__ import annotations

import argparse
import json
import sys

from doctest_runner.lint import RULES, LintReport, lint_paths
from doctest_runner.lint.engine import DOC_BUDGET_S
from doctest_runner.model import Finding

_LEVELS = {"error": 0, "warning": 1, "info": 2}


def add_parser(subparsers) -> argparse.ArgumentParser:
    rules = ", ".join(f"{rule} ({sev})" for rule, sev in RULES.items())
    parser = subparsers.add_parser(
        "lint",
        help="review docs statically: syntax, shellcheck, placeholders, sudo redirects, prompts...",
        description=f"Review the shell steps of docs without running them. Rules: {rules}.",
    )
    parser.add_argument("paths", nargs="+", metavar="DOC|DIR", help="Markdown docs or directories of docs")
    parser.add_argument("--json", action="store_true", help="print findings as JSON")
    parser.add_argument("--source", metavar="DIR", help="where the docs' sidecars / doc set live")
    parser.add_argument(
        "--time-budget",
        type=float,
        default=DOC_BUDGET_S,
        metavar="SECONDS",
        help=f"lint time of one doc; a doc over it gets an error line, the others go on "
        f"(default {DOC_BUDGET_S:g}; 0: no limit)",
    )
    parser.add_argument(
        "--severity",
        choices=list(_LEVELS),
        default="info",
        help="show findings of this severity and above (default: info, i.e. all)",
    )
    return parser


def _shown(report: LintReport, severity: str) -> list[Finding]:
    limit = _LEVELS[severity]
    return [f for f in report.findings if _LEVELS.get(f.severity, 2) <= limit]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(findings: list[Finding], docs: int) -> str:
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(docs, 'doc')}"


def to_json(report: LintReport, findings: list[Finding]) -> dict:
    return {
        "findings": [
            {
                "path": f.path,
                "line": f.line,
                "rule": f.rule,
                "severity": f.severity,
                "message": f.message,
                "hint": f.hint,
                "step_id": f.step_id,
            }
            for f in findings
        ],
        "errors": [{"path": e.path, "line": e.line, "message": e.message} for e in report.errors],
        "summary": {
            "errors": sum(f.severity == "error" for f in findings),
            "warnings": sum(f.severity == "warning" for f in findings),
            "infos": sum(f.severity == "info" for f in findings),
            "docs": len(report.docs),
            "unplanned": len(report.errors),
        },
    }


def run(args: argparse.Namespace) -> int:
    if args.time_budget < 0:
        print("doctest-runner: error: --time-budget must be 0 (no limit) or more seconds", file=sys.stderr)
        return 2
    report = lint_paths(args.paths, source=args.source, budget_s=args.time_budget or None)
    for err in report.errors:
        print(f"doctest-runner: error: {err}", file=sys.stderr)
    if not report.docs:
        print("doctest-runner: error: nothing to lint (no Markdown docs in the given paths)", file=sys.stderr)
        return 2
    findings = _shown(report, args.severity)
    if args.json:
        json.dump(to_json(report, findings), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for f in findings:
            print(f)
        print(summary(findings, len(report.docs)))
    failed = report.count("error") > 0 or bool(report.errors)
    return 1 if failed else 0
