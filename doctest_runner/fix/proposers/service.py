"""A unit that does not exist: the closest unit name the machine has (keeping the doc's `.service` or not)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from doctest_runner.model import Step, StepResult

from ..facts import GuestFacts, closest
from ..model import Candidate
from .common import failed_index, output_lines, replace_word, with_line

# systemctl names the unit in "Unit X not found." / "Unit file X does not exist."
_UNIT_RE = re.compile(r"Unit (?:file )?(\S+?)\.? (?:not found|does not exist)")
_SUFFIX_RE = re.compile(r"\.(?:service|socket|timer|target|mount|path|slice|scope|device|swap|automount)$")


def missing_unit(result: StepResult) -> str | None:
    for line in [result.evidence or "", *output_lines(result)]:
        m = _UNIT_RE.search(line)
        if m:
            return next(g for g in m.groups() if g)
    return None


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
    out: list[Candidate] = []
    for name in closest(full, units):
        shown = name if _SUFFIX_RE.search(written) else _SUFFIX_RE.sub("", name) if name.endswith(".service") \
            else name
        new = replace_word(line, written, shlex.quote(shown))
        if new is None:
            continue
        cand = with_line(result, index, new, category="service", proposer="closest-unit",
                         description=f"this machine has no unit `{full}`; the closest it has is `{name}`")
        if cand:
            out.append(cand)
    return out
