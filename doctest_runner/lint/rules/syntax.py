"""Rule `syntax`: a step bash cannot parse, at the line bash names.

bash itself is the judge (`bash -n /dev/stdin`: parse only, never execute; reading the script
as a file path rather than plain stdin is what makes bash print `line N`). For speed, a step the
parser's `check_syntax` (one long-lived bash, results cached from parsing) calls ok skips the
`bash -n` process; every other step gets `bash -n`, whose message and line are reported. A heredoc left open
is only a warning to bash, but in a doc it swallows the rest of the block, so it is an error here.

A script a step hands to another shell as a string (`sh -c '...'`, `ssh host '...'`, `watch '...'`: see
`lint.shell.inner_scripts`) is one quoted word to the step's bash, so it is checked the same way on its own,
and reported at the doc line of its failing line.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from doctest_runner.lint.context import LintContext, ShellStep, SyntaxProblem
from doctest_runner.lint.shell import inner_scripts
from doctest_runner.model import Finding

RULE = "syntax"

_LINE_RE = re.compile(r"^/dev/stdin: line (\d+): (.*)$")
_HEREDOC_RE = re.compile(r"here-document at line (\d+) delimited by end-of-file \(wanted `(.*)'\)")


def _bash() -> str:
    return shutil.which("bash") or "/bin/bash"


@functools.lru_cache(maxsize=4096)
def check_bash(text: str) -> SyntaxProblem | None:
    """Parse `text` with `bash -n`; None when it parses cleanly."""
    try:
        proc = subprocess.run(
            [_bash(), "--norc", "--noprofile", "-n", "/dev/stdin"],
            input=text + "\n",
            capture_output=True,
            text=True,
            timeout=20,
            check=False,  # exit 2 is the answer we want to read
        )
    except subprocess.TimeoutExpired:
        return SyntaxProblem(0, "bash -n did not finish parsing in 20 s")
    except OSError:  # no bash at all: nothing can be said about syntax
        return None
    n_lines = text.count("\n") + 1
    problem: SyntaxProblem | None = None
    for raw in proc.stderr.splitlines():
        m = _LINE_RE.match(raw)
        if not m:
            continue
        line, message = int(m.group(1)), m.group(2)
        if message.startswith("`"):  # bash echoes the offending line: not a new problem
            continue
        heredoc = _HEREDOC_RE.search(message)
        if heredoc:
            if problem is None:
                problem = SyntaxProblem(
                    int(heredoc.group(1)) - 1, f"here-document is never closed (no `{heredoc.group(2)}` line)"
                )
            continue
        if "warning:" in message:
            continue
        if line > n_lines or "unexpected end of file" in message:
            # bash names the line after the last one: point at the last line with text instead
            lines = text.split("\n")
            line = next((k + 1 for k in range(len(lines) - 1, -1, -1) if lines[k].strip()), 1)
            message += " (an if/for/while/case/{ or a quote is never closed)"
        return SyntaxProblem(min(line, n_lines) - 1, message)
    return problem


def _parses(text: str) -> bool:
    """Fast verdict from the parser's long-lived bash (it has usually seen this text already).

    Only a clean "ok" is taken from it; any doubt goes to `check_bash`, whose message and line
    are the ones reported.
    """
    try:
        from doctest_runner.parse.shell import check_syntax
    except ImportError:
        return False
    return check_syntax(text).ok  # documented never to raise


def check_step(text: str) -> SyntaxProblem | None:
    return None if _parses(text) else check_bash(text)


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
