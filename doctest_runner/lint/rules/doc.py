"""Rules `prose-step` and `parse`: what the doc asks for in words, and what could not be read.

`prose-step`: an instruction the reader must carry out that has no command ("Download a release
from:", "Unpack the downloaded archive."); the parser collects these as `Plan.prose`. A runner
cannot do them, so the guide cannot be tested past that point unless the sidecar supplies a
command for that line (a step with origin "sidecar" at the same line), which silences it.

`parse`: each of `Plan.errors` (bad annotation, bad sidecar, unreadable Markdown), as an error.
"""

from __future__ import annotations

from collections.abc import Iterator

from doctest_runner.lint.context import LintContext
from doctest_runner.model import Finding


def check(ctx: LintContext) -> Iterator[Finding]:
    plan = ctx.plan
    supplied = {
        (st.path, st.line) for st in (*plan.setup, *plan.steps, *plan.cleanup) if st.origin == "sidecar"
    }
    supplied_lines = {line for _, line in supplied}
    for prose in plan.prose:
        if (prose.path, prose.line) in supplied or (prose.path == plan.path and prose.line in supplied_lines):
            continue
        text = " ".join(prose.text.split())
        if len(text) > 80:
            text = text[:77] + "..."
        yield Finding(
            path=prose.path or plan.path,
            line=prose.line,
            rule="prose-step",
            severity="warning",
            message=f'instruction with no command: "{text}"',
            hint="add the command in a code block, or supply one in the sidecar for this line",
        )
    for err in plan.errors:
        yield Finding(
            path=getattr(err, "path", None) or plan.path,
            line=getattr(err, "line", None) or 1,
            rule="parse",
            severity="error",
            message=getattr(err, "message", None) or str(err),
            hint="fix the annotation, sidecar or Markdown at this line",
        )
