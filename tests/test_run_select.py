"""Step selection (-k, --heading, --name) and the run's exit status: pure, no VM."""

import pytest

from doctest_runner.model import (
    DocResult,
    DoctestError,
    HostInfo,
    Plan,
    RunResult,
    Step,
    StepOptions,
    StepResult,
)
from doctest_runner.run.runner import exit_status
from doctest_runner.run.select import Selection, apply_selection


def _step(line, heading, command, name=None):
    return Step(
        id=f"g.md:{line}", path="g.md", line=line, end_line=line, heading=heading, command=command,
        kind="prompted", options=StepOptions(name=name),
    )


PLAN = Plan(
    path="docs/install.md",
    steps=[
        _step(3, ("Install", "Download"), "curl -fsSLO https://example.org/x.tar"),
        _step(9, ("Install", "Unpack"), "tar -xf x.tar", name="unpack"),
        _step(15, ("Configure",), "sudo systemctl restart containerd"),
        _step(20, ("Test",), "kata-runtime check"),
    ],
)


def _statuses(plan):
    return [(s.line, s.status, s.reason) for s in plan.steps]


def test_no_selection_keeps_everything():
    assert apply_selection([PLAN], Selection()) == [PLAN]


def test_keyword_runs_the_guide_up_to_the_selected_step():
    (plan,) = apply_selection([PLAN], Selection(keyword="unpack"))
    assert _statuses(plan) == [
        (3, "run", None), (9, "run", None), (15, "skip", "deselected"), (20, "skip", "deselected"),
    ]


def test_keyword_expression_with_or_and_not():
    (plan,) = apply_selection([PLAN], Selection(keyword="configure and not test"))
    assert [s.status for s in plan.steps] == ["run", "run", "run", "skip"]
    assert apply_selection([PLAN], Selection(keyword="nothing-matches-this")) == []


def test_heading_and_name():
    (plan,) = apply_selection([PLAN], Selection(heading="install > download"))
    assert [s.status for s in plan.steps] == ["run", "skip", "skip", "skip"]
    (plan,) = apply_selection([PLAN], Selection(name="unpack"))
    assert [s.status for s in plan.steps] == ["run", "run", "skip", "skip"]


def test_bad_keyword_is_a_one_line_error():
    with pytest.raises(DoctestError, match="bad -k expression"):
        apply_selection([PLAN], Selection(keyword="and and"))


def _run(*statuses_and_categories, doc_status="failed"):
    steps = [
        StepResult(step=PLAN.steps[0], status=st, category=cat) for st, cat in statuses_and_categories
    ]
    return RunResult(
        run_id="r", started_at="t", host=HostInfo(accel="tcg", why="test"),
        docs=[DocResult(path="g.md", image="debian-12", status=doc_status, steps=steps)],
    )


def test_exit_status():
    assert exit_status(_run(("passed", None), ("skipped", None), doc_status="passed")) == 0
    assert exit_status(_run(("passed", None), ("failed", "permission"))) == 1
    assert exit_status(_run(("failed", "network"), ("not-run", None))) == 1
    assert exit_status(_run(("failed", "network"), ("not-run", None)), fail_on="doc") == 0
    assert exit_status(_run(("failed", "syntax")), fail_on="doc") == 1
    assert exit_status(_run(("not-run", None), doc_status="error")) == 2
