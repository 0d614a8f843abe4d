"""fix/verify.py: the edited step list a candidate runs, and the verdict from the runs before and after it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fix_support import FixedFacts, failed, step_at

from doctest_runner.fix import Candidate, apply_to_steps, decide, propose
from doctest_runner.model import DoctestError, StepResult
from doctest_runner.parse import parse_file

REPO = Path(__file__).resolve().parents[1]
EX = REPO / "docs_under_test/examples"


def _steps(name: str):
    return parse_file(EX / name, f"docs_under_test/examples/{name}").steps


def _passed(step, seconds: float = 2.0) -> StepResult:
    return StepResult(step, "passed", 0, seconds)


def _jq():
    steps = _steps("install-jq.md")
    res = failed(step_at(steps, 7), "Do you want to continue? [Y/n] Abort.\n")
    before = [_passed(steps[0]), res, StepResult(steps[2], "not-run")]
    [cand] = propose(res, steps, FixedFacts())
    return steps, before, cand


def test_apply_replaces_the_failed_command_only():
    steps, _, cand = _jq()
    edited = apply_to_steps(steps, cand)
    assert [s.command for s in edited] == ["sudo apt-get update", "sudo apt-get install -y jq", "jq --version"]
    assert edited[1].id == steps[1].id and edited[1].line == 7
    assert steps[1].command == "sudo apt-get install jq"  # the plan itself is left as it was


def test_apply_inserts_steps_before_with_their_own_ids():
    steps = _steps("missing-tool.md")
    cand = Candidate(steps[1].id, "command-not-found", "install-provider", "install it",
                     insert_before=("sudo apt-get update", "sudo apt-get install -y kata-containers"))
    edited = apply_to_steps(steps, cand)
    assert [s.command for s in edited] == ["""echo '{"hypervisor": "qemu"}' | tee runtime.json""",
                                           "sudo apt-get update", "sudo apt-get install -y kata-containers",
                                           "jq -r .hypervisor runtime.json"]
    assert [s.id for s in edited][1:3] == [f"{steps[1].id}+fix1", f"{steps[1].id}+fix2"]
    assert all(s.line == 8 and s.expected_output is None for s in edited[1:3])
    assert len({s.id for s in edited}) == 4


def test_verified_when_the_guide_then_passes():
    steps, before, cand = _jq()
    edited = apply_to_steps(steps, cand)
    v = decide(before, [_passed(edited[1], 20), _passed(edited[2], 1)], cand)
    assert (v.status, v.before_line, v.after_line, v.duration_s) == ("verified", 7, None, 21)
    assert v.reason == "the guide passes to the end with this change"
    failing_check = decide(before, [_passed(edited[1]), _passed(edited[2])], cand, checks_passed=False)
    assert failing_check.status == "partial" and "check" in failing_check.reason


def test_partial_when_it_fails_later():
    steps, before, cand = _jq()
    edited = apply_to_steps(steps, cand)
    later = failed(edited[2], "bash: jq: command not found\n", exit_code=127)
    v = decide(before, [_passed(edited[1]), later], cand, duration_s=9.5)
    assert (v.status, v.after_line, v.duration_s) == ("partial", 13, 9.5)
    assert "install-jq.md:13 (command-not-found)" in v.reason


def test_a_wrong_guess_is_rejected():
    # the proposer's closest package name does not exist either: the fixed step fails the same way
    steps = _steps("missing-package.md")
    res = failed(steps[0], "E: Unable to locate package sysstats\n", exit_code=100, line_index=1)
    [cand] = propose(res, steps, FixedFacts(packages=["systat"]))
    edited = apply_to_steps(steps, cand)
    again = failed(edited[0], "E: Unable to locate package systat\n", exit_code=100, line_index=1)
    v = decide([res], [again], cand)
    assert v.status == "rejected" and v.reason.startswith("the fixed step still fails")
    assert (v.before_line, v.after_line) == (5, 5)


def test_a_failing_inserted_step_rejects():
    steps = _steps("missing-tool.md")
    res = failed(steps[1], "bash: jq: command not found\n", exit_code=127)
    cand = Candidate(steps[1].id, "command-not-found", "install-provider", "install it",
                     insert_before=("sudo apt-get install -y jq-tools",))
    edited = apply_to_steps(steps, cand)
    ins = failed(edited[1], "E: Unable to locate package jq-tools\n", exit_code=100)
    v = decide([_passed(steps[0]), res], [ins, StepResult(edited[2], "not-run")], cand)
    assert v.status == "rejected"


def test_a_new_failure_earlier_than_before_rejects():
    # replayed from the start (no checkpoint): the step before the fixed one now fails
    steps, before, cand = _jq()
    edited = apply_to_steps(steps, cand)
    early = failed(edited[0], "E: Could not open lock file /var/lib/apt/lists/lock\n", exit_code=100)
    v = decide(before, [early, _passed(edited[1]), _passed(edited[2])], cand)
    assert v.status == "rejected" and "before the old one" in v.reason and v.after_line == 6


def test_placeholder_candidate_is_never_verified():
    steps = _steps("unpack-release.md")
    res = failed(steps[1], "bash: VERSION: No such file or directory\n")
    [cand] = propose(res, steps, FixedFacts())
    assert cand.placeholder
    edited = apply_to_steps(steps, cand)
    v = decide([_passed(steps[0]), res], [_passed(s) for s in edited[1:]], cand)
    assert v.status == "partial"
    assert decide([res], [_passed(s) for s in edited[1:]], replace(cand, placeholder=False)).status == "verified"


def test_fixed_step_that_did_not_run_rejects():
    steps, before, cand = _jq()
    assert decide(before, [], cand).status == "rejected"


def test_candidate_for_another_guide_is_a_one_line_error():
    steps, _, cand = _jq()
    other = _steps("missing-tool.md")
    with pytest.raises(DoctestError, match=r"^docs_under_test/examples/missing-tool.md: the fix is for step "):
        apply_to_steps(other, cand)
