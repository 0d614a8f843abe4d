"""Static review of a Plan: the doc bugs that can be found without booting a VM.

`lint_plan(plan)` is pure apart from running `bash -n` and `shellcheck`, which only parse.
`lint_paths(args)` plans the given docs/dirs and lints every plan.
"""

from doctest_runner.lint import formats
from doctest_runner.lint.engine import DOC_BUDGET_S, LintReport, dedupe_sorted, lint_paths, lint_plan
from doctest_runner.lint.rules import RULES

# `formats` (text, json, sarif, github...: how findings are printed) is a public submodule
__all__ = ["DOC_BUDGET_S", "RULES", "LintReport", "dedupe_sorted", "formats", "lint_paths", "lint_plan"]
