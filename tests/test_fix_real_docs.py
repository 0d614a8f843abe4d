"""Proposers and patches on real guides of other projects (../shared/external-docs, read in place; skipped when
absent): every step is failed with each cause's typical output, and every candidate's patch must either give a doc
that the parser reads as exactly the step list the candidate would be verified with, or be refused with a
one-line `path:line: message` — never a traceback, never a patch that runs something else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fix_support import FixedFacts

from doctest_runner.fix import apply_edits, apply_to_steps, check_patched, propose, read_source
from doctest_runner.model import DoctestError, Step, StepResult
from doctest_runner.parse import parse_file

DOCS = Path(__file__).resolve().parents[1] / "../shared/external-docs"
FACTS = FixedFacts(
    packages=["curl", "git", "docker.io", "containerd", "golang-go", "make", "qemu-system-x86", "runc"],
    providers={"git": "git", "make": "make", "curl": "curl", "go": "golang-go", "runc": "runc"},
    units=["containerd.service", "docker.service", "ssh.service"],
    commands=["git", "curl", "make", "docker", "sudo", "tar", "kubectl"],
)


def _outputs(step: Step) -> dict[str, str]:
    """Each cause's typical output, for the causes the step's text could have."""
    cmd = step.command
    first = (cmd.split() or ["x"])[0]
    out = {"command-not-found": f"bash: {first}: command not found\n"}
    if ">" in cmd:
        out["permission"] = "bash: line 1: /etc/x: Permission denied\n"
    if re.search(r"\b(?:apt|apt-get|dnf|yum|zypper)\b", cmd):
        out["interactive"] = "Do you want to continue? [Y/n] Abort.\n"
        out["package-not-found"] = "E: Unable to locate package gitt\n"
    if "systemctl" in cmd:
        out["service"] = "Failed to start containerd.servic: Unit containerd.servic not found.\n"
    if re.search(r"<\w+>|\$\{?\w", cmd):
        out["placeholder"] = "bash: VERSION: unbound variable\n"
    if step.expected_output is not None:
        out["output-mismatch"] = "some output 2026-01-01 12:00:00\nline two\n"
    return out


@pytest.mark.skipif(not DOCS.is_dir(), reason="../shared/external-docs is not here")
def test_every_patch_reparses_to_the_verified_steps_or_is_refused_in_one_line():
    checked = refused = 0
    for path in sorted(DOCS.glob("*.md")):
        shown = str(path)
        steps = parse_file(path, shown).steps
        source = read_source(shown)
        for step in steps:
            for category, output in _outputs(step).items():
                res = StepResult(step, "failed", 1, 1.0, step.line, category, "", output.splitlines()[0], output)
                for cand in propose(res, steps, FACTS):
                    apply_to_steps(steps, cand)
                    if not cand.edits:
                        continue
                    try:
                        check_patched(source, apply_edits(source, cand.edits, shown), shown, cand)
                        checked += 1
                    except DoctestError as exc:
                        refused += 1
                        assert re.match(rf"^{re.escape(shown)}:\d+: \S", str(exc)) and "\n" not in str(exc), exc
    assert checked >= 60  # 86 candidates with edits on the 13 guides when written
    assert refused <= checked // 20, (checked, refused)
