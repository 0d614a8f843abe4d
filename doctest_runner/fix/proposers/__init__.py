"""Fix proposers, one module per failure cause, and the registry from the harness's categories to them.

Each proposer is a pure function `(failed StepResult, the guide's steps, GuestFacts) -> [Candidate]`, best first.
Categories with no proposer (`syntax`, `unknown`, the environment's) get no candidates: a syntax error or an
unexplained failure has no one mechanical fix, and the environment is not the doc's to fix.
"""

from __future__ import annotations

from collections.abc import Sequence

from doctest_runner.model import Step, StepResult

from ..facts import GuestFacts
from ..model import Candidate
from . import command, interactive, output, package, permission, placeholder, service
from .common import Proposer

PROPOSERS: dict[str, Proposer] = {
    "permission": permission.propose,
    "interactive": interactive.propose,
    "package-not-found": package.propose,
    "command-not-found": command.propose,
    "service": service.propose,
    "placeholder": placeholder.propose,
    "output-mismatch": output.propose,
}

__all__ = ["PROPOSERS", "Proposer", "propose"]


def propose(result: StepResult, steps: Sequence[Step], facts: GuestFacts) -> list[Candidate]:
    """Candidates for one failed step: its category's proposer, no-op and duplicate candidates dropped."""
    proposer = PROPOSERS.get(result.category or "")
    if proposer is None or result.status not in ("failed", "error"):
        return []
    seen: set[tuple[str | None, str | None, tuple[str, ...]]] = set()
    out: list[Candidate] = []
    for cand in proposer(result, steps, facts):
        key = (cand.command, cand.expected_output, cand.insert_before)
        if key in seen or not cand.changes(result.step):
            continue
        seen.add(key)
        out.append(cand)
    return out
