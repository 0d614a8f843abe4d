"""An install that stopped at a confirmation prompt: answer it up front (`-y`; zypper's global `-n`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from doctest_runner.model import Step, StepResult

from ..facts import GuestFacts
from ..model import Candidate
from .common import failed_index, with_line

# tool, then its options, then a subcommand that asks before changing the system
_ASKING_RE = re.compile(
    r"(?P<tool>\b(?:apt-get|apt|dnf|yum|microdnf))(?P<opts>(?:\s+-[-\w=]+)*)\s+"
    r"(?P<sub>install|remove|purge|upgrade|dist-upgrade|full-upgrade|autoremove|reinstall|update|erase|"
    r"groupinstall|localinstall)\b"
)
_ZYPPER_RE = re.compile(r"\b(?P<tool>zypper)(?P<opts>(?:\s+-[-\w=]+)*)\s+"
                        r"(?P<sub>install|in|remove|rm|update|up|dist-upgrade|dup|patch)\b")
_YES = re.compile(r"(?:^|\s)(?:-y|--yes|--assume-yes|-\w*y\w*|-n|--non-interactive|--no-confirm)(?=\s|$)")
# it waited for something `-y` does not answer
_OTHER_WAIT = re.compile(r"password|passphrase|\btty\b|terminal", re.IGNORECASE)


def add_yes(line: str) -> str | None:
    """The line with `-y` after the first asking package-manager subcommand; None if none or it has one."""
    for pattern, flag, after in ((_ASKING_RE, "-y", "sub"), (_ZYPPER_RE, "-n", "tool")):
        for m in pattern.finditer(line):
            rest = line[m.end():].split("&&")[0].split(";")[0].split("|")[0]
            if _YES.search(m.group("opts")) or _YES.search(rest):
                continue
            if pattern is _ASKING_RE and m.group("tool") == "apt" and m.group("sub") == "update":
                continue  # `apt update` never asks
            at = m.end(after)
            return f"{line[:at]} {flag}{line[at:]}"
    return None


def propose(result: StepResult, steps: Sequence[Step], facts: GuestFacts) -> list[Candidate]:
    if result.evidence and _OTHER_WAIT.search(result.evidence):
        return []
    index = failed_index(result)
    lines = result.step.command.split("\n")
    for k in [index, *range(len(lines))]:
        new = add_yes(lines[k])
        if new is not None:
            cand = with_line(result, k, new, category="interactive", proposer="assume-yes",
                             description="answer the package manager's confirmation prompt up front: the step "
                                         "runs with no one to type `y`")
            return [cand] if cand else []
    return []
