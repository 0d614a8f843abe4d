"""Rule `syntax`: a step bash cannot parse, at the line bash names (`shell.check_step`).

bash itself is the judge: parse only, never execute; a step the parser's long-lived bash already
called ok skips the `bash -n` process, every other step gets `bash -n`, whose message and line are
reported. A heredoc left open is only a warning to bash, but in a doc it swallows the rest of the
block, so it is an error here.

A script a step hands to another shell as a string (`sh -c '...'`, `ssh host '...'`, `watch '...'`: see
`shell.inner_scripts`) is one quoted word to the step's bash, so it is checked the same way on its own,
and reported at the doc line of its failing line.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from doctest_runner.lint.context import LintContext, ShellStep
from doctest_runner.model import Finding
from doctest_runner.shell import SyntaxProblem, check_step, inner_scripts

RULE = "syntax"


def prepare(ctx: LintContext, workers: int = 4) -> None:
    """Fill `ShellStep.syntax` for every shell step (other rules skip steps that do not parse)."""
    texts = [s.step.command for s in ctx.shell]
    if len(texts) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(check_step, texts))
    else:
        results = [check_step(t) for t in texts]
    for shell_step, result in zip(ctx.shell, results):
        shell_step.syntax = result


def inner_problems(s: ShellStep) -> Iterator[tuple[int, str, SyntaxProblem]]:
    """(0-based line of the step's command, launcher, problem) for each inner script bash cannot parse."""
    for inner in inner_scripts(s.step.command, s.script):
        problem = check_step(inner.text)
        if problem is not None:
            index = inner.line_map[min(max(problem.line_index, 0), len(inner.line_map) - 1)]
            yield index, inner.launcher, problem


def check(ctx: LintContext) -> Iterator[Finding]:
    for s in ctx.shell:
        if s.syntax is None:
            for index, launcher, problem in inner_problems(s):
                yield ctx.finding_at(
                    s.step,
                    s.step.source_line(index),
                    RULE,
                    "error",
                    f"bash cannot parse the script `{launcher}` runs: {problem.message}",
                    "fix the quoting inside the string handed to the other shell (`bash -n` on it shows it)",
                )
            continue
        yield ctx.finding_at(
            s.step,
            s.step.source_line(s.syntax.line_index),
            RULE,
            "error",
            f"bash cannot parse this step: {s.syntax.message}",
            "fix the shell syntax (quotes, brackets, if/fi, the heredoc's end marker)",
        )
