"""Rule `output-in-shell-fence`: a block labelled as shell whose content is a command's output.

"Example output:" followed by a ```bash fence, or a `docker ps` table, log lines or `lsmod`
columns under a shell label: the parser does not run it (the step is skipped with that reason,
`Step.why` starting with `parse.steps.OUTPUT_WHY`), but a reader copying "commands" from it, and
every tool that trusts the label, is misled. Reported once per block, at its fence line, as a
warning: label it `text` (or `console` with the command after a `$ ` prompt).
"""

from __future__ import annotations

from collections.abc import Iterator

from doctest_runner.lint.context import LintContext
from doctest_runner.model import Finding
from doctest_runner.parse import OUTPUT_WHY

RULE = "output-in-shell-fence"


def check(ctx: LintContext) -> Iterator[Finding]:
    for step in ctx.plan.steps:
        if step.origin != "doc" or step.status != "skip" or not (step.why or "").startswith(OUTPUT_WHY):
            continue
        detail = step.why[len(OUTPUT_WHY):].lstrip(": ") if step.why else ""
        lang = step.lang or "shell"
        yield ctx.finding_at(
            step,
            step.block_line or step.line,
            RULE,
            "warning",
            f"block labelled `{lang}` holds output, not commands ({detail}); it is not run",
            "label it `text` (or `console` with the command after a `$ ` prompt and its output below)",
        )
