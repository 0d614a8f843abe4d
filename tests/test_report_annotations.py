"""`run --annotations github`: one annotation per broken step at its doc line (doc bugs as errors, environment
problems as warnings, cascades and output drift as notices), and the Markdown job summary in
$GITHUB_STEP_SUMMARY. Built from the shared sample run; the CLI test fakes the VM runner."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from doctest_runner.cli import main
from doctest_runner.model import DocResult, DoctestError, HostInfo, RunResult, Step, StepResult
from doctest_runner.report.annotations import (
    MAX_TABLE_ROWS,
    SUMMARY_ENV,
    annotation_lines,
    emit,
    run_annotations,
    step_summary_markdown,
)
from github_syntax import parse
from report_sample import sample


def _step(path: str, line: int, command: str = "true") -> Step:
    return Step(id=f"{path}:{line}", path=path, line=line, end_line=line, heading=("Install",), command=command,
                kind="bare")


def _run(*docs: DocResult) -> RunResult:
    return RunResult("r1", "2026-11-30T06:00:00+00:00", HostInfo("tcg", "no vmx"), list(docs))


def test_sample_run_annotations_levels_lines_and_order():
    lines = annotation_lines(sample().make_run())
    parsed = [parse(line) for line in lines]
    where = [(level, p["file"], int(p["line"]), p["title"]) for level, p, _ in parsed]
    assert where == [
        ("error", "docs/installation.md", 289, "service (doc bug)"),
        ("error", "docs/install/container-manager/containerd/containerd-install.md", 56,
         "command-not-found (doc bug)"),
        ("error", "docs/installation.doctest.yaml", 7, "check service docker failed"),
        ("error", "docs/install/minikube-installation-guide.md", 1, "guide could not run on debian-12"),
        ("warning", "docs/installation.md", 44, "needs-kvm (environment, not the doc)"),
        # the multi-line tarball step (line 210) failed at line 224: the annotation sits on that line
        ("warning", "docs/installation.md", 224, "network (environment, not the doc)"),
        ("notice", "docs/installation.md", 50, "output differs from the doc"),
    ]
    service = parsed[0][2].splitlines()
    assert service == [
        "unit docker.service does not exist: the package providing it was not installed by an earlier step",
        "$ sudo systemctl restart docker",
        "Failed to restart docker.service: Unit docker.service not found.",
        "fix: install, enable and start the service in an earlier step (`systemctl enable --now`); check its "
        "configuration",
    ]
    assert parsed[4][2].splitlines()[-1].startswith("not the doc's fault: run on a host with (nested) KVM")


def test_cascade_is_a_notice_after_its_first_failure():
    first = StepResult(_step("g.md", 5, "apt-get install -y gti"), "failed", exit_code=100,
                       category="package-not-found", explanation="no package gti", evidence="E: Unable to locate package gti")
    later = StepResult(_step("g.md", 9, "git clone x"), "failed", exit_code=127, category="command-not-found",
                       explanation="git: command not found", evidence="bash: git: command not found",
                       after_failure="g.md:5")
    run = _run(DocResult("g.md", "debian-12", "failed", 1.0, [first, later]))
    parsed = [parse(line) for line in annotation_lines(run)]
    assert [(level, p["line"]) for level, p, _ in parsed] == [("error", "5"), ("notice", "9")]
    assert parsed[0][2].splitlines()[3] == "and 1 later step failed after it (line 9)"
    assert parsed[1][1]["title"] == "command-not-found: failed after an earlier failure (line 5)"
    assert parsed[1][2].startswith("failed after an earlier failure (line 5)\n$ git clone x\n")


def test_a_step_broken_on_two_images_is_annotated_once_with_both():
    def doc(image: str) -> DocResult:
        sr = StepResult(_step("g.md", 3, "sudo apt-get install -y nope"), "failed", exit_code=100,
                        category="package-not-found", explanation="no package nope", evidence="E: nope")
        return DocResult("g.md", image, "failed", 1.0, [sr])

    run = _run(doc("debian-12"), doc("debian-13"))
    lines = annotation_lines(run)
    assert len(lines) == 1
    assert parse(lines[0])[2].splitlines()[0] == "no package nope (on debian-12, debian-13)"
    summary = step_summary_markdown(run)
    assert "| Where | Category | Kind | Reason | Images |" in summary
    assert "| g.md:3 | package-not-found | doc bug | no package nope — E: nope | debian-12, debian-13 |" in summary


def test_plan_errors_are_errors_at_their_line():
    run = _run(DocResult("g.md", "debian-12", "passed", 1.0, [StepResult(_step("g.md", 3), "passed", exit_code=0)]))
    errors = [DoctestError("step rule selects no step", "g.doctest.yaml", 12), DoctestError("no path given")]
    parsed = [parse(line) for line in annotation_lines(run, errors)]
    assert [(level, p) for level, p, _ in parsed] == [
        ("error", {"file": "g.doctest.yaml", "line": "12", "title": "could not be planned"})]
    assert step_summary_markdown(run, errors).startswith("## doctest-runner: FAILED\n")


def test_guide_text_cannot_break_the_annotation_or_the_table():
    evil = "x | y\r\n::error::fake\x1b[31m `code` <b>"
    sr = StepResult(_step("g.md", 4, "echo hi"), "failed", exit_code=1, category="unknown", explanation=evil,
                    evidence=evil)
    run = _run(DocResult("g.md", "debian-12", "failed", 1.0, [sr]))
    (line,) = annotation_lines(run)
    level, props, message = parse(line)
    assert level == "error" and message.splitlines()[0] == "x | y"
    summary = step_summary_markdown(run)
    row = next(r for r in summary.splitlines() if r.startswith("| g.md:4 "))
    assert row.count(" | ") == 3  # four cells: the `|` of the evidence is escaped
    assert "\\|" in row and "\\`code\\`" in row and "\\<b\\>" in row and "\x1b" not in row


def test_summary_of_the_sample_run():
    text = step_summary_markdown(sample().make_run())
    lines = text.splitlines()
    assert lines[0] == "## doctest-runner: FAILED"
    assert lines[2] == ("Run 20261128-184247-ab12 on debian-12 (tcg): 4 guides (1 passed, 2 failed, 1 error), "
                        "7 steps (1 passed, 4 failed, 1 not-run, 1 skipped).")
    assert lines[4] == ("**2 doc bugs**, 2 environment problems (not the docs' fault), 1 failed check, "
                        "1 could not run.")
    table = [line for line in lines if line.startswith("| ")]
    assert table[0] == "| Where | Category | Kind | Reason |"
    assert [row.split(" | ")[0][2:] for row in table[1:]] == [
        "docs/installation.md:289", "docs/install/container-manager/containerd/containerd-install.md:56",
        "docs/installation.doctest.yaml:7", "docs/install/minikube-installation-guide.md:1",
        "docs/installation.md:44", "docs/installation.md:224"]
    assert table[5].split(" | ")[1:3] == ["needs-kvm", "environment"]


def test_passing_run_summary_and_a_long_table_is_cut():
    ok = _run(DocResult("g.md", "debian-12", "passed", 1.0, [StepResult(_step("g.md", 3), "passed", exit_code=0)]))
    assert annotation_lines(ok) == []
    assert step_summary_markdown(ok).splitlines()[0] == "## doctest-runner: passed"
    assert "Every guide that ran passed." in step_summary_markdown(ok)
    many = [StepResult(_step("g.md", n), "failed", exit_code=1, category="unknown", explanation="e", evidence="x")
            for n in range(1, MAX_TABLE_ROWS + 6)]
    big = _run(DocResult("g.md", "debian-12", "failed", 1.0, many))
    assert len(run_annotations(big)) == MAX_TABLE_ROWS + 5
    text = step_summary_markdown(big)
    assert sum(1 for line in text.splitlines() if line.startswith("| g.md:")) == MAX_TABLE_ROWS
    assert "… and 5 more: see checklist.md and report.html." in text


def test_emit_prints_and_appends_to_the_step_summary(tmp_path):
    target = tmp_path / "summary.md"
    target.write_text("## an earlier step\n")
    out = io.StringIO()
    assert emit("github", sample().make_run(), out=out, environ={SUMMARY_ENV: str(target)}) is None
    assert len(out.getvalue().splitlines()) == 7
    written = target.read_text()
    assert written.startswith("## an earlier step\n## doctest-runner: FAILED\n")  # appended, never replaced
    # without the variable: annotations only
    out = io.StringIO()
    assert emit("github", sample().make_run(), out=out, environ={}) is None
    assert len(out.getvalue().splitlines()) == 7
    # a summary that cannot be written is one line to report, not a traceback or a failed run
    problem = emit("github", sample().make_run(), out=io.StringIO(), environ={SUMMARY_ENV: str(tmp_path)})
    assert problem.startswith(f"cannot write the job summary to $GITHUB_STEP_SUMMARY ({tmp_path}): ")
    # nothing to run: only the summary says so
    out = io.StringIO()
    assert emit("github", None, out=out, environ={SUMMARY_ENV: str(target)}, nothing="no guide changed") is None
    assert out.getvalue() == "" and target.read_text().endswith("## doctest-runner: nothing to run\n\nno guide changed\n\n")
    with pytest.raises(DoctestError):
        emit("gitlab", None, out=io.StringIO(), environ={})


@pytest.fixture
def fake_runner(tmp_path, monkeypatch):
    """A real guide to plan in the current folder; the host check, the package cache and the VM runner faked
    (the runner returns the sample run): nothing is booted or started."""
    import doctest_runner.cli.run_cmd as run_cmd

    monkeypatch.chdir(tmp_path)
    (tmp_path / "guide.md").write_text("# Guide\n\n```sh\necho hello\n```\n")
    monkeypatch.setattr(run_cmd, "check_host_ready", lambda accel=None: SimpleNamespace(accel="tcg", why="test"))
    monkeypatch.setattr(run_cmd, "run_plans", lambda plans, options, host=None: sample().make_run())
    try:
        from doctest_runner.vm import pkgcache
    except ImportError:
        pass
    else:
        monkeypatch.setattr(pkgcache, "start", lambda log=print: SimpleNamespace(running=False,
                                                                                 describe=lambda: "off (test)"))
    return tmp_path


def test_run_annotations_github_from_the_command_line(fake_runner, monkeypatch, capsys):
    """`run --annotations github` on a real guide, with the VM runner faked to return the sample run."""
    summary = fake_runner / "step-summary.md"
    monkeypatch.setenv(SUMMARY_ENV, str(summary))
    code = main(["run", "--annotations", "github", "--cold-boot", "--no-progress", "--out", "out", "guide.md"])
    out, err = capsys.readouterr()
    assert code == 2  # the sample has a guide whose VM did not boot
    marks = [line for line in out.splitlines() if line.startswith("::")]
    assert [parse(line)[0] for line in marks] == ["error"] * 4 + ["warning"] * 2 + ["notice"]
    assert out.index("reports: out/report.html") < out.index(marks[0])  # after the terminal summary
    assert summary.read_text().startswith("## doctest-runner: FAILED\n")
    assert "Traceback" not in err


def test_run_without_annotations_prints_none(fake_runner, monkeypatch, capsys):
    tmp_path = fake_runner
    monkeypatch.setenv(SUMMARY_ENV, str(tmp_path / "step-summary.md"))
    main(["run", "--cold-boot", "--no-progress", "--out", "out", "guide.md"])
    assert not any(line.startswith("::") for line in capsys.readouterr().out.splitlines())
    assert not (tmp_path / "step-summary.md").exists()
    with pytest.raises(SystemExit) as exc:
        main(["run", "--annotations", "gitlab", "guide.md"])
    assert exc.value.code == 2
