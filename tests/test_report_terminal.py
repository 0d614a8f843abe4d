"""The terminal summary names each broken step as path:line, doc bugs apart from environment."""

from __future__ import annotations


from doctest_runner.model import DocResult, HostInfo, RunResult
from doctest_runner.report.terminal import summary_text
from report_sample import sample


def test_summary_lists_broken_steps_by_group():
    text = summary_text(sample().make_run())
    lines = text.splitlines()
    assert lines[0] == "doctest-runner run 20261128-184247-ab12 (tcg: CPU has no vmx/svm)"
    assert lines[1] == "4 guides: 1 passed, 2 failed, 1 error; 7 steps: 1 passed, 4 failed, 1 not-run, 1 skipped"
    assert lines[2] == "4 broken steps: 2 doc bugs, 2 environment problems"
    doc = lines.index("doc bugs:")
    env = lines.index("environment problems (not the docs' fault):")
    assert doc < env
    assert lines[doc + 1] == (
        "  FAIL docs/installation.md:289 [service] Failed to restart docker.service: Unit docker.service not found.")
    assert lines[env + 2] == "  FAIL docs/installation.md:224 [network] curl: (6) Could not resolve host: api.github.com"
    assert "  ERROR docs/install/minikube-installation-guide.md (debian-12): VM did not boot" in text
    assert "  CHECK docs/installation.md: service docker: docker.service is not running" in text
    assert "  WARN docs/installation.md:50 " in text
    assert lines[-1] == "FAILED in 747.5s"
    assert "\x1b" not in text


def test_all_passed_and_long_lines_cut():
    run = RunResult("r", "t", HostInfo("kvm", "vmx present"), [DocResult("a.md", "debian-12", "passed", 2.0)])
    assert summary_text(run).splitlines()[-1] == "PASSED in 2.0s"
    # `run` knows its wall time: guides side by side take less than their sum
    assert summary_text(run, wall_s=1.25).splitlines()[-1] == "PASSED in 1.2s (2.0s of guide time)"
    run = sample().make_run()
    run.docs[1].steps[0].evidence = "x" * 500
    assert all(len(line) <= 160 for line in summary_text(run).splitlines() if "FAIL" in line)
