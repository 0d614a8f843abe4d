"""Where and why a text does not parse, in bash's own words (`bash -n /dev/stdin`, which never executes).

Why a second way to ask bash: `complete.py` answers "complete? parses?" fast, but a report needs bash's
exact message and line; reading the script as a file path rather than plain stdin is what makes bash print
`line N`. An open heredoc is only a warning to bash, but in a doc it swallows the rest of the block, so it is
a problem here. Used by lint's `syntax` rule and by classify (syntax errors inside `sh -c '...'`).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass

from doctest_runner.shell.complete import HEREDOC_WARNING, check_syntax


@dataclass
class SyntaxProblem:
    """bash's verdict on a step that does not parse (or leaves a heredoc open)."""

    line_index: int  # 0-based line of the command
    message: str


_LINE_RE = re.compile(r"^/dev/stdin: line (\d+): (.*)$")


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
        heredoc = HEREDOC_WARNING.search(message)
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


def check_step(text: str) -> SyntaxProblem | None:
    """None when `text` parses; else bash's message and line. The co-process's verdict (it has usually seen
    this text already) is taken only when it is a clean "ok"; any doubt goes to `check_bash`."""
    return None if check_syntax(text).ok else check_bash(text)
