"""A unit that does not exist: the closest unit name the machine has (keeping the doc's `.service` or not)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from doctest_runner.model import Step, StepResult

from ..facts import GuestFacts, closest
from ..model import Candidate
from .common import closest_swaps, failed_index, find, output_lines, replace_word

# systemctl names the unit in "Unit X not found." / "Unit file X does not exist."
_UNIT_RE = re.compile(r"Unit (?:file )?(\S+?)\.? (?:not found|does not exist)")
_SUFFIX_RE = re.compile(r"\.(?:service|socket|timer|target|mount|path|slice|scope|device|swap|automount)$")


def missing_unit(result: StepResult) -> str | None:
    return find(_UNIT_RE, result.evidence, *output_lines(result))


def propose(result: StepResult, steps: Sequence[Step], facts: GuestFacts) -> list[Candidate]:
    unit = missing_unit(result)
    if unit is None:
        return []
    index = failed_index(result)
    line = result.step.command.split("\n")[index]
    written = unit if replace_word(line, unit, "") is not None else _SUFFIX_RE.sub("", unit)
    if replace_word(line, written, "") is None:
        return []
    full = written if _SUFFIX_RE.search(written) else written + ".service"
    units = list(facts.unit_names())

    def shown(name: str) -> str:  # as the doc wrote it: with or without `.service`
        return name if _SUFFIX_RE.search(written) or not name.endswith(".service") else _SUFFIX_RE.sub("", name)

    return closest_swaps(result, index, line, written, closest(full, units), shown, category="service",
                         proposer="closest-unit",
                         description=lambda name: f"this machine has no unit `{full}`; the closest it has is `{name}`")
