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
# Units that stop, reset or suspend the machine: never a candidate, however close the name (a trial would take the
# machine down, and a reader who copies the "fix" would too).
_MACHINE_STATE_RE = re.compile(
    r"^(?:systemd-)?(?:halt|poweroff|reboot|soft-reboot|kexec|shutdown|rescue|emergency|suspend|hibernate"
    r"|hybrid-sleep|suspend-then-hibernate|sleep|final|exit|ctrl-alt-del)\b")


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
    # a template (`getty@.service`) runs only with an instance name: a candidate only for a doc that names one
    units = [u for u in facts.unit_names()
             if ("@." not in u or "@" in written) and not _MACHINE_STATE_RE.match(u)]
    # names are compared without their type suffix (`.service` would make every unit look alike); of two units
    # with the same stem, the one of the doc's type
    suffix = full[full.rfind("."):]
    by_stem: dict[str, str] = {}
    for u in units:
        stem = _SUFFIX_RE.sub("", u)
        if stem not in by_stem or u.endswith(suffix):
            by_stem[stem] = u
    want = _SUFFIX_RE.sub("", full)
    # systemd's own units carry a `systemd-` prefix docs often leave out (`journald`): that is the same unit
    same = [u for s, u in by_stem.items() if s != want and s.removeprefix("systemd-") == want.removeprefix("systemd-")]
    picked = list(dict.fromkeys(same + [by_stem[s] for s in closest(want, by_stem)]))[:3]

    def shown(name: str) -> str:  # as the doc wrote it: with or without `.service`
        return name if _SUFFIX_RE.search(written) or not name.endswith(".service") else _SUFFIX_RE.sub("", name)

    return closest_swaps(result, index, line, written, picked, shown, category="service",
                         proposer="closest-unit",
                         description=lambda name: f"this machine has no unit `{full}`; the closest it has is `{name}`")
