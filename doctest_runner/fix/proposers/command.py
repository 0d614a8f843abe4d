"""A command that is not there: install the package that ships it, or use the closest command name (a typo)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from doctest_runner.model import Step, StepResult

from ..facts import GuestFacts, closest
from ..model import Candidate
from .common import failed_index, inserting, output_lines, replace_word, updates_before, with_line

_NOT_FOUND_RE = re.compile(
    r"(?:^|: )(?:line \d+: )?([^\s:]+): command not found|command not found: (\S+)"
    r"|^\S*sh: \d+: (\S+): not found$|sudo: (?:unable to execute )?(\S+): (?:command not found|No such file)"
    r"|^env: ['‘]([^'’]+)['’]: No such file or directory"
)


def missing_command(result: StepResult) -> str | None:
    for line in [result.evidence or "", *output_lines(result)]:
        m = _NOT_FOUND_RE.search(line.strip())
        if m:
            name = next(g for g in m.groups() if g)
            return name.rsplit("/", 1)[-1]
    return None


def propose(result: StepResult, steps: Sequence[Step], facts: GuestFacts) -> list[Candidate]:
    step = result.step
    cmd = missing_command(result)
    if cmd is None or not re.fullmatch(r"[\w.+-]+", cmd):
        return []
    index = failed_index(result)
    line = step.command.split("\n")[index]
    out: list[Candidate] = []
    for name in closest(cmd, facts.command_names()):
        new = replace_word(line, cmd, shlex.quote(name))
        if new is None:
            continue
        cand = with_line(result, index, new, category="command-not-found", proposer="closest-command",
                         description=f"`{cmd}` is not a command on this machine; `{name}` is (a typo?)")
        if cand:
            out.append(cand)
    pkg = facts.package_for_command(cmd)
    if pkg:
        install = f"sudo apt-get install -y {shlex.quote(pkg)}"
        steps_in = ("sudo apt-get update", install) if not updates_before(step, steps) else (install,)
        out.append(inserting(result, steps_in, category="command-not-found", proposer="install-provider",
                             description=f"install `{pkg}`, the package that provides `{cmd}`, before this step"))
    return out
