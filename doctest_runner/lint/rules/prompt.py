"""Rules `prompt-mixed` and `prompt-typo`: prompts that leave the reader guessing.

`prompt-mixed`: one block whose commands use different prompt styles: `$ ` next to `# ` (is
this line run as root?), `user@host$ ` next to `$ `, or prompted lines next to bare commands
(which lines are commands, which are output?). Reported once per block, at the first line
whose style differs from the block's first command.

`prompt-typo`: `$sudo apt ...`: a prompt glued to the command, so the parser (and a reader's
eye) takes `$sudo` apart only by guessing, and a copy-paste of the line breaks.
"""

from __future__ import annotations

from collections.abc import Iterator

from doctest_runner.lint.context import LintContext
from doctest_runner.model import Finding, Step
from doctest_runner.parse import GUEST_REASON


def prompt_style(step: Step) -> str:
    """'bare', '$', '#', '%', '>', 'user@host$', 'user@host#' ..."""
    if step.kind == "bare" or not step.prompt:
        return "bare"
    p = step.prompt.strip()
    mark = p[-1:] or "?"
    return f"user@host{mark}" if "@" in p else mark


def _describe(style: str) -> str:
    return "no prompt" if style == "bare" else f"`{style} `"


def check(ctx: LintContext) -> Iterator[Finding]:
    blocks: dict[tuple[str, int], list[Step]] = {}
    for s in ctx.doc_steps:
        step = s.step
        if step.origin != "doc" or step.kind not in ("prompted", "bare"):
            continue
        if step.reason == GUEST_REASON:  # `/ # ` after `$ docker run -it`: another shell, not a mixed style
            continue
        blocks.setdefault((step.path, step.block_line), []).append(step)
        prompt = step.prompt
        if prompt and prompt == prompt.rstrip() and prompt.endswith(("$", "#")):
            first_line = step.command.split("\n")[0][:30]
            yield ctx.finding_at(
                step,
                step.line,
                "prompt-typo",
                "warning",
                f"prompt `{prompt}` is glued to the command (`{prompt}{first_line}`)",
                f"put a space after the prompt: `{prompt} {first_line}`",
            )
    for steps in blocks.values():
        steps.sort(key=lambda st: st.line)
        first = prompt_style(steps[0])
        other = next((st for st in steps if prompt_style(st) != first), None)
        if other is None:
            continue
        style = prompt_style(other)
        yield ctx.finding_at(
            other,
            other.line,
            "prompt-mixed",
            "warning",
            f"block mixes prompt styles: {_describe(first)} (line {steps[0].line}) "
            f"and {_describe(style)} here",
            "use one style per block: `$ ` on every command (sudo for root ones), "
            "output lines without prompt",
        )
