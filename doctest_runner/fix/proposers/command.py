"""A command that is not there: install the package that ships it, or use the closest command name (a typo)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from doctest_runner.model import Step, StepResult

from ..facts import GuestFacts, closest
from ..model import Candidate
from .common import closest_swaps, failed_index, find, inserting, output_lines, updates_before

_NOT_FOUND_RE = re.compile(
    r"(?:^|: )(?:line \d+: )?([^\s:]+): command not found|command not found: (\S+)"
    r"|^\S*sh: \d+: (\S+): not found$|sudo: (?:unable to execute )?(\S+): (?:command not found|No such file)"
    r"|^env: ['‘]([^'’]+)['’]: No such file or directory"
)


def missing_command(result: StepResult) -> str | None:
    name = find(_NOT_FOUND_RE, result.evidence, *output_lines(result), strip=True)
    return name.rsplit("/", 1)[-1] if name else None


def propose(result: StepResult, steps: Sequence[Step], facts: GuestFacts) -> list[Candidate]:
    step = result.step
    cmd = missing_command(result)
    if cmd is None or not re.fullmatch(r"[\w.+-]+", cmd):
        return []
    index = failed_index(result)
    line = step.command.split("\n")[index]
    out = closest_swaps(result, index, line, cmd, closest(cmd, facts.command_names()), str,
                        category="command-not-found", proposer="closest-command",
                        description=lambda name: f"`{cmd}` is not a command on this machine; `{name}` is (a typo?)")
    pkg = facts.package_for_command(cmd)
    if pkg:
        install = f"sudo apt-get install -y {shlex.quote(pkg)}"
        steps_in = ("sudo apt-get update", install) if not updates_before(step, steps) else (install,)
        out.append(inserting(result, steps_in, category="command-not-found", proposer="install-provider",
                             description=f"install `{pkg}`, the package that provides `{cmd}`, before this step"))
    return out
