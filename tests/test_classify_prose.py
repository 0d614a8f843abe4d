"""What the guide's words explain is not a doc bug (issue #10 part 4): a missing tool, daemon or cluster that
the guide names as a prerequisite is `prerequisite`; a missing file or tool that a sentence just before asks
the reader to fetch in words is `prose-step`. Both quote the sentence with its line. The steps go through
GuideRun's own path (tests/fake_session.py) with what Debian 12 prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from doctest_runner.classify import classify
from doctest_runner.classify.assumed import GuideContext
from doctest_runner.model import ExecResult, category_group
from doctest_runner.plan import plan_paths
from doctest_runner.report.checklist import checklist_markdown
from fake_session import SEEDED, one_run, run_guide

DATA = Path("tests/data/prereq")


def verdicts(name: str, answers: dict[int, tuple[int, str]], tmp: Path):
    (plan,) = plan_paths([str(DATA / name)]).plans
    doc = run_guide(plan, answers, tmp)
    return doc, {sr.step.line: sr for sr in doc.steps}


SANDBOX = {
    19: (127, "bash: line 1: make: command not found"),
    20: (127, "bash: line 1: go: command not found"),
    26: (125, "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
              "Is the docker daemon running?\nSee 'docker run --help'."),
    27: (1, "E1130 03:10:00.000000    1234 memcache.go:265] couldn't get current server API group list: Get "
            "\"http://localhost:8080/api?timeout=32s\": dial tcp 127.0.0.1:8080: connect: connection refused\n"
            "The connection to the server localhost:8080 was refused - did you specify the right host or port?"),
    28: (127, "bash: line 1: helm: command not found"),
    29: (127, "bash: line 1: hugo: command not found"),
}


def test_stated_prerequisites(tmp_path):
    _, steps = verdicts("sandbox-runtime.md", SANDBOX, tmp_path)
    expect = {19: (11, "make"), 20: (11, "Go"), 26: (7, "Docker"), 27: (8, "a Kubernetes cluster"), 28: (9, "Helm")}
    for line, (said, name) in expect.items():
        sr = steps[line]
        assert sr.category == "prerequisite", (line, sr.category, sr.explanation)
        assert category_group(sr.category) == "environment"
        assert f"names {name} as a prerequisite at line {said}:" in sr.explanation, sr.explanation
    assert '"Docker Engine 24 or later, with its daemon running."' in steps[26].explanation
    assert steps[26].evidence.startswith("docker: Cannot connect to the Docker daemon")  # evidence kept
    # "If you want to build the docs, you also need `hugo`": conditional, so a missing hugo stays a doc bug
    assert steps[29].category == "command-not-found"


def test_assumed_subject_and_an_installed_one(tmp_path):
    _, steps = verdicts("docker-in-sandbox.md", {9: (127, "bash: line 1: docker: command not found")}, tmp_path)
    assert steps[9].category == "prerequisite"
    assert "the guide assumes Docker (line 2: its title is \"Docker in the Sandbox\")" in steps[9].explanation
    # the guide installs docker.io itself: a missing daemon afterwards is the guide's problem
    _, steps = verdicts("install-docker.md", {7: (1, "Cannot connect to the Docker daemon at "
                                                   "unix:///var/run/docker.sock. Is the docker daemon running?")},
                        tmp_path)
    assert steps[7].category == "service"


FETCH = {
    9: (2, "tar: runtime-1.7.20-linux-amd64.tar.gz: Cannot open: No such file or directory\n"
           "tar: Error is not recoverable: exiting now"),
    18: (127, "bash: line 1: rtctl: command not found"),
    28: (1, "cp: cannot stat 'policy.json': No such file or directory"),
    34: (127, "bash: line 1: toolbox-check: command not found"),
}


def test_prose_steps(tmp_path):
    doc, steps = verdicts("fetch-in-words.md", FETCH, tmp_path)
    assert steps[9].category == "prose-step", steps[9].explanation
    assert "only in words at line 5 (\"Download the `runtime-<VERSION>-linux-<ARCH>.tar.gz` archive" in \
        steps[9].explanation
    assert steps[18].category == "prose-step"
    assert "at line 14 (\"To install, download the binary" in steps[18].explanation
    # "Download the default configuration file:" is done by the curl below it, which does not fetch
    # policy.json: no sentence asks for policy.json, so the missing file is the doc's problem
    assert steps[28].category != "prose-step"
    assert category_group(steps[28].category) == "doc"
    # nothing in the guide mentions toolbox-check
    assert steps[34].category == "command-not-found"
    text = checklist_markdown(one_run(doc))
    env = text.split("## Environment problems", 1)[1]
    assert "fetch-in-words.md:9" in env and "prose-step" in env and "sidecar \\`insert:\\`" in env


def test_a_sentence_the_commands_carry_out_is_no_prose_step(tmp_path):
    md = ("# G\n\n## Get it\n\nDownload the `tool-<VERSION>.tar.gz` archive and extract it:\n\n"
          "```console\n$ curl -fsSLO https://example.com/tool-1.0.tar.gz\n$ tar xzf tool-1.0.tar.gz\n```\n")
    path = tmp_path / "g.md"
    path.write_text(md)
    (plan,) = plan_paths([str(path)]).plans
    tar = plan.steps[1]
    res = ExecResult(exit_code=2, output="tar: tool-1.0.tar.gz: Cannot open: No such file or directory",
                     duration_s=0.1, failed_line_index=0)
    assert classify(tar, res, context=GuideContext.from_plan(plan)).category != "prose-step"


# The seeded example guides keep their verdicts with the guide context (docs_under_test/examples).
PROSE_CHECKED = ("missing-tool.md", "monitor-service.md", "unpack-release.md", "missing-package.md",
                 "forwarding-check.md")


@pytest.mark.parametrize("name", sorted(PROSE_CHECKED))
def test_seeded_examples_keep_their_categories(name):
    line, code, output, category = SEEDED[name]
    (plan,) = plan_paths([f"docs_under_test/examples/{name}"]).plans
    step = next(s for s in plan.steps if s.line == line)
    res = ExecResult(exit_code=code, output=output, duration_s=0.1, failed_line_index=step.command.count("\n"))
    assert classify(step, res, context=GuideContext.from_plan(plan)).category == category
