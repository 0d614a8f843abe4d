"""Split a step's command into its top-level commands, for running them one by one (pure, host side).

Why: a reader stops at the first command that fails, but bash's errexit ignores a failing command inside
`a && b` lists, so exec runs a check after each top-level command. Where one ends is decided by bash's own
parser (`complete.py`, which parses and never runs); lines with no quote, bracket, heredoc or compound
keyword are whole commands without asking it. Each unit is a run of whole lines of the command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from doctest_runner.shell.complete import check_syntax

# Lines with none of these are complete commands on their own: no need to ask bash.
_NEEDS_PARSER = re.compile(
    r"""['"`(){}]|<<|\[\[|\b(if|then|else|elif|fi|for|while|until|do|done|case|esac|select|function|coproc)\b"""
)
_CONTINUES = re.compile(r"(\|\||&&|\|)$")  # a line ending like this goes on
_TEST_IDIOM = re.compile(r"^\s*(\[\[?|test)\s.*(&&|\|\|)")  # `[ "$ARCH" = x ] && export ...`


@dataclass(frozen=True)
class Unit:
    """One top-level command of a step: lines `start..end` (0-based, inclusive) of the command."""

    start: int
    end: int
    text: str

    @property
    def is_code(self) -> bool:
        """False for blank and comment-only stretches, which need no check after them."""
        return any(ln.strip() and not ln.lstrip().startswith("#") for ln in self.text.split("\n"))

    @property
    def test_idiom(self) -> bool:
        """`[ cond ] && cmd`: a false condition is not an error a reader would notice."""
        return bool(_TEST_IDIOM.match(self.text)) and "\n" not in self.text.strip()


def _continues(line: str) -> bool:
    """A line ending in an odd backslash, `|`, `||` or `&&` goes on to the next one."""
    if line.lstrip().startswith("#"):
        return False
    stripped = line.rstrip()
    if stripped.endswith("\\"):
        return (len(stripped) - len(stripped.rstrip("\\"))) % 2 == 1
    return bool(_CONTINUES.search(stripped))


def split_units(command: str) -> list[Unit]:
    """Split a command into its top-level commands, each a run of whole lines.

    A syntax error more lines will not fix ends a unit like a complete command: bash reports it when it runs.
    """
    lines = command.split("\n")
    units: list[Unit] = []
    start = 0
    needs_bash = False
    heredoc_word: str | None = None
    for i, line in enumerate(lines):
        needs_bash = needs_bash or bool(_NEEDS_PARSER.search(line))
        if heredoc_word is not None and line.strip() != heredoc_word:
            continue  # inside a heredoc: only its end line can complete the command
        heredoc_word = None
        if _continues(line):
            continue
        if needs_bash:
            verdict = check_syntax("\n".join(lines[start : i + 1]))
            if not verdict.complete:
                heredoc_word = verdict.wanted if verdict.wanted_kind == "heredoc" else None
                continue
        units.append(Unit(start, i, "\n".join(lines[start : i + 1])))
        start, needs_bash = i + 1, False
    if start < len(lines):  # unterminated quote or heredoc: bash will say so when it runs
        units.append(Unit(start, len(lines) - 1, "\n".join(lines[start:])))
    return units
