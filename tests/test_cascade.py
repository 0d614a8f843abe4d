"""Cascades (issue #10 part 3): with --keep-going, a failure that follows from an earlier failure of the same
guide is linked to the first failure and listed once, "and K later steps failed after it".

The guide tests/data/cascade/build-widget.md runs `apt-get install` without sudo (the real doc bug, line 9);
git, the clone's folder, make, go and the widget unit are then missing (five later failures), and `jq` at
line 30 is missing for its own reason (a separate bug). Outputs are what Debian 12 prints.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from doctest_runner.classify.cascade import follows_from
from doctest_runner.classify.evidence import command_names, missing
from doctest_runner.model import Step, StepResult
from doctest_runner.plan import plan_paths
from doctest_runner.report.checklist import checklist_markdown
from doctest_runner.report.data import summary
from doctest_runner.report.html import report_html
from doctest_runner.report.json import load_schema, run_dict
from doctest_runner.report.junit import junit_xml
from doctest_runner.report.load import run_from_dict
from doctest_runner.report.terminal import summary_text
from doctest_runner.run.runner import exit_status
from fake_session import one_run, run_guide

GUIDE = "tests/data/cascade/build-widget.md"
FIRST = f"{GUIDE}:9"
ANSWERS = {
    9: (100, "E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\n"
             "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?"),
    15: (127, "bash: line 1: git: command not found"),
    16: (1, "bash: line 1: cd: widget: No such file or directory"),
    22: (127, "bash: line 1: make: command not found"),
    23: (127, "bash: line 1: go: command not found"),
    29: (1, "Failed to enable unit: Unit file widget.service does not exist."),
    30: (127, "bash: line 1: jq: command not found"),
}
LATER = [15, 16, 22, 23, 29]


@pytest.fixture
def doc(tmp_path):
    (plan,) = plan_paths([GUIDE]).plans
    return run_guide(plan, ANSWERS, tmp_path)


def by_line(doc):
    return {sr.step.line: sr for sr in doc.steps}


def test_five_dependent_failures_follow_the_first_and_the_unrelated_one_does_not(doc):
    steps = by_line(doc)
    assert steps[9].status == "failed" and steps[9].category == "permission" and steps[9].after_failure is None
    for line in LATER:
        assert steps[line].status == "failed", line
        assert steps[line].after_failure == FIRST, line
    assert steps[15].category == "command-not-found"  # its own category is kept
    assert steps[29].category == "service"
    assert steps[30].after_failure is None  # jq is mentioned by no earlier failure: a bug of its own


def test_checklist_lists_the_first_failure_once_with_its_later_steps(doc):
    text = checklist_markdown(one_run(doc))
    items = [ln for ln in text.splitlines() if ln.startswith("- [ ]")]
    assert len(items) == 2, text
    first = next(i for i in items if i.startswith(f"- [ ] {FIRST} "))
    assert "and 5 later steps failed after it (lines 15, 16, 22, 23, 29)" in first
    assert not any(f":{line} " in i for i in items for line in LATER)
    assert "5 step(s) failed after an earlier failure" in text


def test_terminal_summary_names_the_first_failure_once(doc):
    text = summary_text(one_run(doc))
    fails = [ln for ln in text.splitlines() if ln.startswith("  FAIL")]
    assert len(fails) == 2
    assert fails[0].startswith(f"  FAIL {FIRST} [permission]") and fails[0].endswith(
        "(and 5 later steps failed after it)")
    assert "7 broken steps: 2 doc bugs, 0 environment problems, 5 after an earlier failure" in text


def test_json_keeps_every_step_with_after_failure_and_counts_first_failures(doc):
    data = run_dict(one_run(doc))
    jsonschema.validate(data, load_schema())
    steps = {s["line"]: s for s in data["docs"][0]["steps"]}
    assert [line for line, s in steps.items() if s["status"] == "failed"] == [9, *LATER, 30]
    assert all(steps[line]["after_failure"] == FIRST for line in LATER)
    assert steps[9]["after_failure"] is None and steps[8]["after_failure"] is None
    s = data["summary"]
    assert s["after_failure"] == 5 and s["groups"] == {"doc": 2, "environment": 0}
    assert len(s["broken"]) == 7
    # the field survives a round trip through report.json (shards are merged from it)
    again = run_dict(run_from_dict(json.loads(json.dumps(data))))
    assert again["summary"] == s
    assert [x["after_failure"] for x in again["docs"][0]["steps"]] == [x["after_failure"] for x in
                                                                        data["docs"][0]["steps"]]


def test_junit_keeps_every_step_and_says_after_which_failure(doc):
    root = ET.fromstring(junit_xml(one_run(doc)))
    failures = {c.get("name"): c.find("failure") for c in root.iter("testcase") if c.find("failure") is not None}
    assert len(failures) == 7
    for line in LATER:
        assert "after an earlier failure (line 9)" in failures[f"{GUIDE}:{line}"].get("message")
    assert "earlier failure" not in failures[FIRST].get("message")


def test_html_shows_the_link(doc):
    html = report_html(one_run(doc))
    assert "failed after an earlier failure (line 9)" in html
    assert "and 5 later steps failed after it" in html


def test_cascade_of_an_environment_failure_is_not_a_doc_bug(tmp_path):
    """The clone fails for want of network; `cd widget` then fails: environment, and --fail-on doc passes."""
    (plan,) = plan_paths([GUIDE]).plans
    answers = {15: (128, "Cloning into 'widget'...\nfatal: unable to access 'https://example.com/acme/widget.git/': "
                         "Could not resolve host: example.com"),
               16: (1, "bash: line 1: cd: widget: No such file or directory")}
    doc = run_guide(plan, answers, tmp_path)
    steps = by_line(doc)
    assert steps[15].category == "network"
    assert steps[16].after_failure == f"{GUIDE}:15"
    run = one_run(doc)
    s = summary(run)
    assert s["groups"] == {"doc": 0, "environment": 1} and s["after_failure"] == 1
    assert {x["line"]: x["group"] for x in run_dict(run)["docs"][0]["steps"]}[16] == "environment"
    assert exit_status(run, "doc") == 0 and exit_status(run, "any") == 1
    assert "## Doc bugs" not in checklist_markdown(run)


def test_without_keep_going_later_steps_do_not_run(tmp_path):
    (plan,) = plan_paths([GUIDE]).plans
    doc = run_guide(plan, ANSWERS, tmp_path, keep_going=False)
    assert [sr.status for sr in doc.steps].count("failed") == 1
    assert summary(one_run(doc))["after_failure"] == 0


# --- the pure decision -------------------------------------------------------------------------------

def _failed(command: str, line: int, after: str | None = None) -> StepResult:
    step = Step(id=f"g.md:{line}", path="g.md", line=line, end_line=line, heading=(), command=command,
                kind="prompted")
    return StepResult(step=step, status="failed", failed_line=line, after_failure=after)


@pytest.mark.parametrize(("earlier", "output", "command"), [
    ("sudo apt-get install -y git", "bash: line 1: git: command not found", "git clone https://x/y.git"),
    ("git clone https://github.com/acme/widget.git", "bash: line 1: cd: widget: No such file or directory",
     "cd widget"),
    ("git clone https://github.com/acme/widget.git src/w", "bash: cd: src/w: No such file or directory",
     "cd src/w && make"),
    ("curl -fsSLO https://example.com/dl/kata-static-3.2.0-amd64.tar.xz",
     "tar: kata-static-3.2.0-amd64.tar.xz: Cannot open: No such file or directory",
     "sudo tar -xJf kata-static-3.2.0-amd64.tar.xz -C /"),
    ("curl -Lo ./kind https://kind.sigs.k8s.io/dl/v0.29.0/kind-linux-amd64",
     "chmod: cannot access './kind': No such file or directory", "chmod +x ./kind"),
    ("wget https://example.com/pkg/tool_1.0_amd64.deb",
     "E: Unsupported file ./tool_1.0_amd64.deb given on commandline\nls: cannot access 'tool_1.0_amd64.deb': "
     "No such file or directory", "ls tool_1.0_amd64.deb"),
    ("sudo apt-get install -y containerd", "Failed to start containerd.service: Unit containerd.service not found.",
     "sudo systemctl start containerd"),
    ("export VERSION=$(curl -s https://example.com/latest)", "bash: VERSION: unbound variable",
     "echo ${VERSION:?}"),
    ("sudo apt-get install -y golang-go", "bash: line 1: go: command not found", "go build ./..."),
    ("VERSION=$(curl -fsSL https://example.com/stable.txt)",
     "--2026-11-30 03:30:00--  https://example.com/dl/v/tool-linux-amd64\nERROR 404: Not Found.",
     "wget https://example.com/dl/v${VERSION}/tool-linux-amd64"),
    ("sudo apt-get install -y build-essential", "bash: line 1: make: command not found", "make"),
    ("echo 'deb https://download.docker.com/linux/debian bookworm stable' | sudo tee "
     "/etc/apt/sources.list.d/docker.list", "E: Unable to locate package docker-ce",
     "sudo apt-get install -y docker-ce"),
    ("mkdir build && cd build && cmake ..", "bash: cd: build: No such file or directory", "cd build && make"),
    ("tar -xzf runtime-1.2.tar.gz", "bash: cd: runtime-1.2: No such file or directory", "cd runtime-1.2"),
])
def test_follows_from_what_the_earlier_failed_step_mentions(earlier, output, command):
    first = _failed(earlier, 10)
    assert follows_from(missing(command, output), [first]) == "g.md:10"


@pytest.mark.parametrize(("earlier", "output", "command"), [
    ("sudo apt-get install -y git", "bash: line 1: jq: command not found", "jq . x.json"),
    ("git clone https://github.com/acme/widget.git", "E: Unable to acquire the dpkg frontend lock, are you root?",
     "apt-get install -y make"),  # not about something missing: a bug of its own
    ("curl -fsSLO https://example.com/a.tar.gz", "bash: line 1: syntax error near unexpected token `)'", "f() )"),
    ("sudo mv ./kind /usr/local/bin/kind", "cat: /etc/hosts.bak: No such file or directory",
     "cat /etc/hosts.bak"),  # a shared folder (/etc, bin) is no link
])
def test_unrelated_failures_stay_separate(earlier, output, command):
    assert follows_from(missing(command, output), [_failed(earlier, 10)]) is None


def test_a_chain_points_at_the_first_failure_and_passed_steps_never_count():
    first = _failed("sudo apt-get install -y git", 5)
    clone = _failed("git clone https://github.com/acme/widget.git", 8, after="g.md:5")
    assert follows_from(missing("cd widget", "bash: cd: widget: No such file or directory"), [first, clone]) == "g.md:5"
    ok = StepResult(step=first.step, status="passed")
    assert follows_from(missing("git log", "bash: line 1: git: command not found"), [ok]) is None


def test_command_names_leave_out_heredoc_bodies_and_options():
    names = command_names("cat > cfg.yaml <<EOF\nwidget: true\nEOF\ncurl -fsSL -o ./bin/tool https://x/tool")
    assert "widget" not in names and "cfg.yaml" in names and "tool" in names and "-fssl" not in names


def test_a_pinned_install_provides_the_bare_name():
    names = command_names("go install github.com/cpuguy83/go-md2man/v2@latest\npip install 'jinja2==3.1.4'")
    assert "go-md2man" in names and "jinja2" in names  # a Go module's /v2 is its major version
    first = _failed("go install github.com/acme/widgetctl@v1.2.0", 3)
    assert follows_from(missing("widgetctl up", "bash: line 1: widgetctl: command not found"), [first]) == "g.md:3"


# tests/data/cascade_vm/demo-tool.md (also run in a real VM by tests/test_real_docs_vm.py): the folder that
# `mkdir /opt/demo` (no sudo) should have made is missing below every later path; outputs as Debian 12 prints.
DEMO = "tests/data/cascade_vm/demo-tool.md"
DEMO_ANSWERS = {
    8: (1, "mkdir: cannot create directory ‘/opt/demo’: Permission denied"),
    14: (1, "cp: cannot create regular file '/opt/demo/tool.conf': No such file or directory"),
    18: (1, "ln: failed to create symbolic link '/opt/demo/current.conf': No such file or directory"),
    24: (1, "cat: /opt/demo/tool.conf: No such file or directory"),
    28: (2, "ls: cannot access '/opt/demo/current.conf': No such file or directory"),
    32: (2, "grep: /opt/demo/tool.conf: No such file or directory"),
    43: (2, "ls: cannot access '/var/lib/demo-data': No such file or directory"),
}


def test_a_file_below_the_folder_a_failed_step_should_have_made_is_a_cascade(tmp_path):
    (plan,) = plan_paths([DEMO]).plans
    steps = by_line(run_guide(plan, DEMO_ANSWERS, tmp_path))
    assert steps[8].category == "permission" and steps[8].after_failure is None
    for line in (14, 18, 24, 28, 32):
        assert steps[line].after_failure == f"{DEMO}:8", line
    assert steps[38].status == "passed"
    assert steps[43].status == "failed" and steps[43].after_failure is None  # /var/lib/demo-data: unrelated


def test_a_program_named_like_its_project_but_for_a_hyphen_follows_from_the_failed_clone():
    clone = Step(id="g.md:5", path="g.md", line=5, end_line=5, heading=(), kind="bare",
                 command="git clone https://github.com/cri-o/cri-o\ncd cri-o\nsudo make install")
    failed = StepResult(step=clone, status="failed", failed_line=5)
    gone = missing("/usr/local/bin/crio --version", "bash: line 1: /usr/local/bin/crio: No such file or directory")
    assert follows_from(gone, [failed]) == "g.md:5"
    other = missing("crun --version", "bash: line 1: crun: command not found")
    assert follows_from(other, [failed]) is None
