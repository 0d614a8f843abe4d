"""A missing tool of another platform (`brew`, `dnf`, `Set-ExecutionPolicy`): the image, never the doc.

The planner skips another platform's steps it can recognise (plan/platform.py); what still runs and
fails because a macOS, Windows, FreeBSD or other distribution's tool is absent on this image is
`platform-mismatch` (environment group): the guide is right for its platform, this VM is not it.
"""

from __future__ import annotations

from doctest_runner.classify import rules as R
from doctest_runner.plan import tool_target

_MISSING_RULES = tuple(r for r in R.RULES if r.category == "command-not-found" and "cmd" in r.pattern.groupindex)


def platform_mismatch(lines: list[str]) -> tuple[str, str] | None:
    """(explanation, evidence line) when the output says another platform's tool is not found."""
    for line in lines:
        lower = line.lower()
        for rule in _MISSING_RULES:
            m = rule.match(line, lower)
            if m is None or not m.group("cmd"):
                continue
            cmd = m.group("cmd").strip("'\"‘’`")
            found = tool_target([cmd], missing=True)
            if found is not None:
                return (f"{cmd} is a {found[1]} tool, absent on this image: the step is for another platform "
                        f"(run it on a {found[1]} image, or mark it `platform: {found[1].split('/')[0].lower()}`)",
                        line.strip())
    return None
