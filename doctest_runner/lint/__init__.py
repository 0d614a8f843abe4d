"""Static review of a Plan: the doc bugs that can be found without booting a VM.

`lint_plan(plan)` is pure apart from running `bash -n` and `shellcheck`, which only parse.
`lint_paths(args)` plans the given docs/dirs and lints every plan.
"""

from doctest_runner.lint.engine import LintReport, dedupe_sorted, lint_paths, lint_plan
from doctest_runner.lint.rules import RULES

__all__ = ["RULES", "LintReport", "dedupe_sorted", "lint_paths", "lint_plan"]
