"""The pytest plugin without VMs: collection, test ids, `-k` on headings, names and commands, the earlier steps
of a selected step run as setup, failures at file:line, and the same verdicts as `run -k`.

Each test writes a guide into a pytester folder and runs pytest in-process with a fake machine backend
(tests/fake_machine.py) handed to the plugin's `pytest_doctest_runner_backend` hook, so every step goes through
GuideRun's real verdict path and only the guest is made up.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fake_machine import FakeBackend, FakeBackendPlugin

from doctest_runner.model import Plan, Step, StepOptions
from doctest_runner.plan import plan_paths
from doctest_runner.pytest_plugin import SETUP_PROPERTY, item_name
from doctest_runner.run.guide import GuideOptions, GuideRun
from doctest_runner.run.select import Selection, apply_selection

pytest_plugins = ["pytester"]

GUIDE = """\
# Install widget

## Prepare the host

```console
$ sudo apt-get install -y widget
```

<!-- doctest: name=make-dir -->
```bash
mkdir -p ~/widget
```

## Configure widget

```console
$ widgetctl enable --now
```

## Check it

```bash
widgetctl status
widgetctl version
```
"""
LINES = [6, 11, 17, 23]  # the step lines of GUIDE
NOT_FOUND = (127, "bash: line 1: widgetctl: command not found")


@pytest.fixture
def guide(pytester: pytest.Pytester):
    pytester.path.joinpath("guide.md").write_text(GUIDE)
    return pytester


def _pytest(pytester: pytest.Pytester, *args: str, answers=None, failed_index=None, target="guide.md"):
    backend = FakeBackend(answers or {}, failed_index=failed_index)
    # hypothesis (installed for other tests) costs a second per in-process session and does nothing here
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", target, *args,
                                plugins=[FakeBackendPlugin(backend)])
    return result, backend


def _lines(backend: FakeBackend) -> list[int]:
    return [int(r.rsplit(":", 1)[1]) for r in backend.ran]


def _plan(guide) -> Plan:
    """The guide planned as `doctest-runner run guide.md` plans it (pytester works in its folder)."""
    (plan,) = plan_paths(["guide.md"]).plans
    return plan


def test_the_guide_has_the_step_lines_the_tests_use(guide):
    plan = _plan(guide)
    assert [s.line for s in plan.steps] == LINES
    assert plan.steps[1].options.name == "make-dir"


# ---------------------------------------------------------------- collection and ids


def test_one_item_per_step_with_path_line_ids(guide):
    result, backend = _pytest(guide, "--collect-only", "-q")
    assert [ln for ln in result.outlines if ln.startswith("guide.md::")] == [
        "guide.md::L6", "guide.md::L11[make-dir]", "guide.md::L17", "guide.md::L23",
    ]
    assert backend.booted == 0  # collecting boots nothing


def test_a_sidecar_setup_step_is_named_after_its_file(guide):
    guide.path.joinpath("guide.doctest.yaml").write_text("setup: |\n  echo prepared\n")
    result, _ = _pytest(guide, "--collect-only", "-q")
    assert "guide.md::guide.doctest.yaml:L2" in result.outlines


def test_item_names():
    plan = Plan(path="docs/a.md", steps=[])

    def step(path, line, sid, name=None):
        return Step(id=sid, path=path, line=line, end_line=line, heading=(), command="ls", kind="bare",
                    options=StepOptions(name=name))

    assert item_name(plan, step("docs/a.md", 12, "docs/a.md:12")) == "L12"
    assert item_name(plan, step("docs/a.md", 12, "docs/a.md:12#2", "unpack")) == "L12#2[unpack]"
    assert item_name(plan, step("docs/a.doctest.yaml", 4, "docs/a.doctest.yaml:4")) == "a.doctest.yaml:L4"


def test_a_full_run_passes_every_step_in_one_machine(guide):
    result, backend = _pytest(guide, "-v")
    result.assert_outcomes(passed=4)
    assert _lines(backend) == LINES and backend.booted == 1
    assert "earlier steps run as setup" not in result.stdout.str()  # nothing deselected, nothing run as setup


# ---------------------------------------------------------------- -k


@pytest.mark.parametrize("keyword, selected, ran", [
    ("Prepare", ["L6", "L11[make-dir]"], [6, 11]),  # a heading word: both steps under it
    ("configure", ["L17"], [6, 11, 17]),  # any case; the earlier steps run too
    ("make-dir", ["L11[make-dir]"], [6, 11]),  # a step name
    ("apt-get", ["L6"], [6]),  # a word of the command
    ("widgetctl and status", ["L23"], LINES),  # the first line of a multi-line command
    ("L17", ["L17"], [6, 11, 17]),  # the test id
    ("Prepare and not make-dir", ["L6"], [6]),
])
def test_k_selects_by_heading_name_command_and_id(guide, keyword, selected, ran):
    result, backend = _pytest(guide, "-v", "-k", keyword)
    passed = [ln.split("::")[1].split()[0] for ln in result.outlines if ln.startswith("guide.md::") and " PASSED" in ln]
    assert passed == selected
    result.assert_outcomes(passed=len(selected), deselected=4 - len(selected))
    assert _lines(backend) == ran


def test_earlier_steps_run_as_setup_and_are_reported(guide):
    result, backend = _pytest(guide, "-k", "Check", f"--junitxml={guide.path / 'j.xml'}")
    result.assert_outcomes(passed=1, deselected=3)
    assert _lines(backend) == LINES and backend.booted == 1
    result.stdout.fnmatch_lines([
        "*= doctest-runner: earlier steps run as setup (deselected, but needed) =*",
        "guide.md::L23 needed 3 earlier steps:",
        "  guide.md:6 passed",
        "  guide.md:11 passed",
        "  guide.md:17 passed",
    ])
    (case,) = ET.parse(guide.path / "j.xml").getroot().iter("testcase")
    assert case.get("name") == "L23"
    props = [(p.get("name"), p.get("value")) for p in case.iter("property")]
    assert props == [(SETUP_PROPERTY, f"guide.md:{n} passed") for n in (6, 11, 17)]


def test_a_node_id_runs_the_steps_before_it(guide):
    result, backend = _pytest(guide, target="guide.md::L17")
    result.assert_outcomes(passed=1)
    assert _lines(backend) == [6, 11, 17]


def test_setup_steps_run_once_between_selected_steps(guide):
    result, backend = _pytest(guide, "-k", "apt-get or widgetctl")  # L6, L17, L23; L11 runs as setup of L17
    result.assert_outcomes(passed=3, deselected=1)
    assert _lines(backend) == LINES
    result.stdout.fnmatch_lines(["guide.md::L17 needed 1 earlier step:", "  guide.md:11 passed"])


# ---------------------------------------------------------------- failures


def test_a_failing_step_is_a_failure_at_its_file_line(guide):
    # the second line of the L23 block fails: the failure points at line 24
    result, backend = _pytest(guide, answers={23: NOT_FOUND}, failed_index={23: 1})
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "*_ guide.md:23 _*",
        "guide.md:24: command-not-found: bash: line 1: widgetctl: command not found",
        "FAILED guide.md::L23 - guide.md:24: command-not-found*",
    ])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_steps_after_a_failure_are_skipped_as_not_run(guide):
    result, backend = _pytest(guide, "-rs", answers={17: NOT_FOUND})
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    assert _lines(backend) == [6, 11, 17]
    result.stdout.fnmatch_lines(["SKIPPED * guide.md:23: not run: an earlier step failed"])


def test_a_failed_setup_step_errors_the_selected_step_at_its_line(guide):
    result, backend = _pytest(guide, "-k", "Check", answers={17: NOT_FOUND})
    result.assert_outcomes(errors=1, deselected=3)
    assert _lines(backend) == [6, 11, 17]  # the selected step itself is not run
    result.stdout.fnmatch_lines([
        "*ERROR at setup of guide.md:23*",
        "guide.md:17: command-not-found: bash: line 1: widgetctl: command not found",
        "(an earlier step: deselected, but this one needs it, so it ran as setup and failed)",
        "*Captured earlier steps run as setup*",
        "  guide.md:17 failed (command-not-found at guide.md:17: bash: line 1: widgetctl: command not found)",
    ])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_with_keep_going_the_selected_step_runs_but_the_session_fails(guide):
    result, backend = _pytest(guide, "-k", "Check", "--dr-keep-going", answers={17: NOT_FOUND})
    result.assert_outcomes(passed=1, deselected=3)
    assert _lines(backend) == LINES
    result.stdout.fnmatch_lines(["  guide.md:17 failed (command-not-found*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # a broken setup step is not hidden by the pass


# ---------------------------------------------------------------- the same verdicts as `run -k`


def _run_k(plan: Plan, keyword: str, answers, tmp_path) -> dict[int, str]:
    """`doctest-runner run -k`'s verdicts: its selection, then GuideRun.run_all (what the runner does per guide)."""
    (selected,) = apply_selection([plan], Selection(keyword=keyword))
    gr = GuideRun(plan=selected, options=GuideOptions(checkpoint="off"), artifacts_dir=tmp_path / keyword,
                  run_id="t", log=lambda _m: None, backend=FakeBackend(answers))
    doc = gr.run_all()
    return {r.step.line: r.status for r in doc.steps if r.explanation != "deselected"}


def _pytest_k(guide, keyword: str, answers) -> dict[int, str]:
    """pytest -k's verdicts: the setup steps' from the JUnit properties, the selected steps' from their cases
    (an error at setup: not run, an earlier step failed)."""
    xml = guide.path / "k.xml"
    _pytest(guide, "-k", keyword, f"--junitxml={xml}", answers=answers)
    out: dict[int, str] = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        for p in case.iter("property"):
            if p.get("name") == SETUP_PROPERTY:
                where, status = p.get("value").split()[:2]
                out[int(where.rsplit(":", 1)[1])] = status
        line = int(case.get("name").split("[")[0].lstrip("L"))
        if case.find("failure") is not None:
            out[line] = "failed"
        elif case.find("error") is not None:
            out[line] = "not-run"
        elif (skip := case.find("skipped")) is not None:
            out[line] = "not-run" if "not run" in (skip.get("message") or "") else "skipped"
        else:
            out[line] = "passed"
    return out


@pytest.mark.parametrize("keyword", ["Prepare", "Configure", "make-dir", "Check", "apt-get or widgetctl", "L11",
                                     "not Check"])
@pytest.mark.parametrize("answers", [{}, {17: NOT_FOUND}, {6: (100, "E: Unable to locate package widget")}])
def test_pytest_k_gives_the_verdicts_of_run_k(guide, tmp_path, keyword, answers):
    plan = _plan(guide)
    assert _pytest_k(guide, keyword, answers) == _run_k(plan, keyword, answers, tmp_path)


def test_a_doc_set_guide_gets_the_same_ids_selection_and_setup_steps(pytester: pytest.Pytester):
    pytester.path.joinpath("upstream", "guides").mkdir(parents=True)
    pytester.path.joinpath("upstream", "guides", "one.md").write_text(GUIDE)
    pytester.path.joinpath("set").mkdir()
    pytester.path.joinpath("set", "doctest-set.yaml").write_text(
        "name: up\nsource:\n  path: ../upstream\ndocs:\n  - guides/*.md\n")
    result, _ = _pytest(pytester, "--collect-only", "-q", target="set")
    assert [ln for ln in result.outlines if "::" in ln] == [
        "set/doctest-set.yaml::guides/one.md::L6", "set/doctest-set.yaml::guides/one.md::L11[make-dir]",
        "set/doctest-set.yaml::guides/one.md::L17", "set/doctest-set.yaml::guides/one.md::L23",
    ]
    result, backend = _pytest(pytester, "-k", "Configure", target="set")
    result.assert_outcomes(passed=1, deselected=3)
    assert _lines(backend) == [6, 11, 17]
    result.stdout.fnmatch_lines(["set/doctest-set.yaml::guides/one.md::L17 needed 2 earlier steps:"])
