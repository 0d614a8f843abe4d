"""`doctest-runner lint`: the doc bugs that can be found without booting anything.

Exit status: 1 when an error-level finding exists (or a path could not be planned), 0 otherwise,
2 for usage errors (no doc found in the arguments, bad option). The same in every `--format`: a CI job
that uploads SARIF or prints GitHub annotations still fails on an error-level finding.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from doctest_runner.lint import DOC_BUDGET_S, RULES, LintReport, lint_paths
from doctest_runner.lint.formats import FORMATS, render, summary
from doctest_runner.model import Finding

__all__ = ["add_parser", "run", "summary"]

_LEVELS = {"error": 0, "warning": 1, "info": 2}


def add_parser(subparsers) -> argparse.ArgumentParser:
    rules = ", ".join(f"{rule} ({sev})" for rule, sev in RULES.items())
    parser = subparsers.add_parser(
        "lint",
        help="review docs statically: syntax, shellcheck, placeholders, sudo redirects, prompts...",
        description=f"Review the shell steps of docs without running them. Rules: {rules}.",
        epilog="exit status: 0 no error-level finding; 1 an error-level finding, or a doc could not be "
        "planned; 2 usage error or nothing to lint\n\n"
        "example:\n  doctest-runner lint docs_under_test/examples --severity warning",
    )
    parser.add_argument("paths", nargs="+", metavar="DOC|DIR", help="Markdown docs or directories of docs")
    out = parser.add_mutually_exclusive_group()
    out.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: one line per finding (default); json: for scripts; github: workflow annotations "
        "(::error file=...,line=...::) shown on the pull request; sarif: SARIF 2.1.0 for code scanning",
    )
    out.add_argument("--json", action="store_true", help="the same as --format json")
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
    fmt = "json" if args.json else args.format
    sys.stdout.write(render(fmt, findings, report.errors, len(report.docs), root=Path.cwd()))
    failed = report.count("error") > 0 or bool(report.errors)
    return 1 if failed else 0
