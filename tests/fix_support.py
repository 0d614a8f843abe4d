"""Helpers for the fix tests: a failed step as the runner records it (through the real classifier), a guest's
facts as fixed lists, and a tmp git repository to check patches with `git apply`."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from doctest_runner.checks import compare_output
from doctest_runner.classify import classify, verdict_for_mismatch
from doctest_runner.model import ExecResult, Step, StepResult
from doctest_runner.parse import parse_text


# A guide whose redirect under sudo fails (line 6) and whose check (line 12) passes once it is fixed.
FORWARD_GUIDE = """\
# Forwarding

Turn it on:

```bash
sudo echo "net.ipv4.ip_forward = 1" > /etc/sysctl.d/99-fwd.conf
```

Check it:

```bash
cat /etc/sysctl.d/99-fwd.conf
```
"""


def steps_of(markdown: str, path: str = "docs/guide.md") -> list[Step]:
    doc = parse_text(markdown, path)
    assert not doc.errors, doc.errors
    return doc.steps


def step_at(steps: Sequence[Step], line: int) -> Step:
    return next(s for s in steps if s.line == line)


def failed(step: Step, output: str, *, exit_code: int = 1, line_index: int | None = None) -> StepResult:
    """The StepResult the runner would record for `step` printing `output` (classified by the real classifier)."""
    res = ExecResult(exit_code=exit_code, output=output, duration_s=1.5, failed_line_index=line_index)
    verdict = classify(step, res, kvm_available=False)
    failed_line = step.source_line(line_index) if line_index is not None else step.line
    return StepResult(step, "failed", exit_code, 1.5, failed_line, verdict.category, verdict.explanation,
                      verdict.evidence, output)


def mismatched(step: Step, output: str) -> StepResult:
    """A step that ran fine but printed something else than its documented output (output=check)."""
    assert step.expected_output is not None
    mismatch = compare_output(step.expected_output, output)
    assert mismatch is not None
    verdict = verdict_for_mismatch(mismatch)
    return StepResult(step, "failed", 0, 0.5, step.line, verdict.category, verdict.explanation, verdict.evidence,
                      output)


@dataclass
class FixedFacts:
    """Stands for the guest: fixed package, unit and command lists."""

    packages: list[str] = field(default_factory=list)
    providers: dict[str, str] = field(default_factory=dict)
    units: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    def package_names(self) -> list[str]:
        return self.packages

    def package_for_command(self, command: str) -> str | None:
        return self.providers.get(command)

    def unit_names(self) -> list[str]:
        return self.units

    def command_names(self) -> list[str]:
        return self.commands


def git_repo(tmp: Path, files: dict[str, bytes]) -> Path:
    """A git repository in `tmp` holding `files` (relative path -> bytes), committed, autocrlf off."""
    repo = tmp / "repo"
    repo.mkdir()
    for rel, data in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(data)
    env = ["-c", "core.autocrlf=false", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "docs"]):
        subprocess.run(["git", *env, *cmd], cwd=repo, check=True, capture_output=True)
    return repo


def git_apply(repo: Path, patch: str, *, check_only: bool = False) -> subprocess.CompletedProcess[str]:
    args = ["git", "-c", "core.autocrlf=false", "apply", *(["--check"] if check_only else []), "-"]
    return subprocess.run(args, cwd=repo, input=patch, text=True, capture_output=True)
