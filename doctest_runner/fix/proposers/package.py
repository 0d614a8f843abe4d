"""A package the index does not have: refresh the index first, or use the closest name it does have."""

from __future__ import annotations

import re
from collections.abc import Sequence

from doctest_runner.model import Step, StepResult

from ..facts import GuestFacts, closest
from ..model import Candidate
from .common import APT_UPDATE_RE, closest_swaps, failed_index, find, inserting, output_lines, updates_before

_MISSING_RE = re.compile(
    r"Unable to locate package (\S+)|Package ['‘]?([^'’\s]+)['’]? has no installation candidate"
    r"|No match for argument:? (\S+)|Unable to find a match:? (\S+)|No package (\S+) available"
)
_APT_INSTALL_RE = re.compile(r"\bapt(?:-get)?\s+(?:-[-\w=]+\s+)*install\b")


def missing_package(result: StepResult) -> str | None:
    return find(_MISSING_RE, result.evidence, *output_lines(result))


def propose(result: StepResult, steps: Sequence[Step], facts: GuestFacts) -> list[Candidate]:
    step = result.step
    pkg = missing_package(result)
    if pkg is None:
        return []
    index = failed_index(result)
    line = step.command.split("\n")[index]
    out: list[Candidate] = []
    own_earlier = "\n".join([*step.command.split("\n")[:index], line.split("install")[0]])
    if _APT_INSTALL_RE.search(line) and not updates_before(step, steps) and not APT_UPDATE_RE.search(own_earlier):
        out.append(inserting(result, ("sudo apt-get update",), category="package-not-found",
                             proposer="apt-update",
                             description="run `apt-get update` before the first install: a fresh machine's "
                                         "package index is empty"))
    bare = pkg.split("=")[0].split(":")[0]
    out += closest_swaps(result, index, line, bare, closest(bare, facts.package_names()), str,
                         category="package-not-found", proposer="closest-package",
                         description=lambda name: f"the package index has no `{bare}`; the closest name it has is "
                                                  f"`{name}`")
    return out
