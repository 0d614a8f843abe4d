"""History across three recorded runs: last passed, broken since, newly broken/fixed, streaks."""

from __future__ import annotations

import json
import sqlite3

import pytest

from doctest_runner.cli import main
from doctest_runner.history import History, command_hash, guide_durations, summary_text
from doctest_runner.model import DocResult, DoctestError, HostInfo, RunResult, Step, StepResult

INSTALL = "docs/installation.md"
CONTAINERD = "docs/install/container-manager/containerd/containerd-install.md"
DEVGUIDE = "docs/Developer-Guide.md"
MINIKUBE = "docs/install/minikube-installation-guide.md"

KVM = "ls -l /dev/kvm"
TARBALL = "curl -fsSL -o kata-static.tar.zst \\\n  \"https://github.com/kata-containers/kata-containers/releases/...\""
RESTART = "sudo systemctl restart docker"
DOCKER = "docker run --runtime kata -it --rm ubuntu:24.04 uname -r"
PLACEHOLDER = "kubectl logs <pod-name>"


def sr(path: str, line: int, command: str, status: str, category: str | None = None) -> StepResult:
    step = Step(id=f"{path}:{line}", path=path, line=line, end_line=line + command.count("\n"), heading=(),
                command=command, kind="bare")
    evidence = {"network": "curl: (6) Could not resolve host: github.com",
                "service": "Failed to restart docker.service: Unit docker.service not found.",
                "command-not-found": "bash: line 1: kata-runtime: command not found",
                "placeholder": "bash: -c: line 1: syntax error near unexpected token `newline'",
                "unknown": "ERRO[0000] boom"}.get(category or "")
    return StepResult(step, status, exit_code=0 if status == "passed" else (1 if status == "failed" else None),
                      category=category, evidence=evidence, failed_line=line if status == "failed" else None)


def doc(path: str, status: str, steps: list[StepResult], error: str | None = None) -> DocResult:
    return DocResult(path, "debian-12", status, 10.0, steps, error=error)


def run(n: int, docs: list[DocResult]) -> RunResult:
    return RunResult(f"run-{n}", f"2026-11-0{n}T10:00:00+00:00", HostInfo("tcg", "no vmx"), docs)


def run1() -> RunResult:
    return run(1, [
        doc(INSTALL, "failed", [sr(INSTALL, 44, KVM, "passed"), sr(INSTALL, 224, TARBALL, "failed", "network"),
                                sr(INSTALL, 289, RESTART, "failed", "service"), sr(INSTALL, 290, DOCKER, "not-run")]),
        doc(CONTAINERD, "failed", [sr(CONTAINERD, 56, "kata-runtime --version", "failed", "command-not-found")]),
        doc(DEVGUIDE, "passed", [sr(DEVGUIDE, 554, "sudo kata-runtime check", "passed")]),
        doc(MINIKUBE, "error", [], error="VM did not boot"),
    ])


def run2() -> RunResult:
    # two lines were added near the top of installation.md: every step below moved by 2
    return run(2, [
        doc(INSTALL, "failed", [sr(INSTALL, 46, KVM, "passed"), sr(INSTALL, 226, TARBALL, "passed"),
                                sr(INSTALL, 291, RESTART, "failed", "service"), sr(INSTALL, 292, DOCKER, "not-run"),
                                sr(INSTALL, 300, PLACEHOLDER, "failed", "placeholder")]),
        doc(CONTAINERD, "passed", [sr(CONTAINERD, 56, "kata-runtime --version", "passed")]),
        doc(DEVGUIDE, "failed", [sr(DEVGUIDE, 554, "sudo kata-runtime check", "failed", "unknown")]),
        doc(MINIKUBE, "error", [], error="VM did not boot"),
    ])


def run3() -> RunResult:
    return run(3, [
        # the placeholder step was deleted from the doc
        doc(INSTALL, "failed", [sr(INSTALL, 46, KVM, "passed"), sr(INSTALL, 226, TARBALL, "passed"),
                                sr(INSTALL, 291, RESTART, "failed", "service"), sr(INSTALL, 292, DOCKER, "not-run")]),
        # edited in place (same line, new command), and broken again
        doc(CONTAINERD, "failed", [sr(CONTAINERD, 56, "kata-runtime version", "failed", "command-not-found")]),
        doc(DEVGUIDE, "passed", [sr(DEVGUIDE, 554, "sudo kata-runtime check", "passed")]),
        doc(MINIKUBE, "error", [], error="VM did not boot"),
    ])


@pytest.fixture
def history(tmp_path):
    h = History(tmp_path / "history.sqlite")
    for r in (run1(), run2(), run3()):
        h.record(r)
    return h


def guide(summary, path):
    return next(g for g in summary.guides if g.path == path)


def test_runs_and_guides(history):
    s = history.summary()
    assert s.runs == 3 and s.latest.run_id == "run-3" and s.previous.run_id == "run-2"
    install = guide(s, INSTALL)
    assert (install.last_status, install.last_passed, install.broken_since.run_id, install.broken_runs) == (
        "failed", None, "run-1", 3)
    containerd = guide(s, CONTAINERD)
    assert (containerd.last_passed.run_id, containerd.broken_since.run_id, containerd.broken_runs) == (
        "run-2", "run-3", 1)
    dev = guide(s, DEVGUIDE)
    assert (dev.last_status, dev.last_passed.run_id, dev.broken_since, dev.broken_runs) == ("passed", "run-3", None, 0)
    mini = guide(s, MINIKUBE)
    assert (mini.last_passed, mini.broken_runs) == (None, 3)


def test_step_broken_since_follows_moved_lines(history):
    s = history.summary()
    (restart,) = guide(s, INSTALL).broken_steps
    assert (restart.location, restart.category) == ("docs/installation.md:291", "service")
    assert (restart.broken_since.run_id, restart.broken_runs) == ("run-1", 3)


def test_newly_broken_and_newly_fixed(history):
    s = history.summary()
    assert [(x.location, x.command, x.status) for x in s.newly_broken] == [
        (f"{CONTAINERD}:56", "kata-runtime version", "failed")]
    assert sorted((x.location, x.status) for x in s.newly_fixed) == [
        (f"{DEVGUIDE}:554", "passed"), (f"{INSTALL}:300", "removed")]


def test_streaks(history):
    # guides are listed by path ("docs/install/..." sorts before "docs/installation.md")
    assert [(g.path, g.broken_runs) for g in history.summary().streaking] == [(MINIKUBE, 3), (INSTALL, 3)]
    assert {g.path for g in history.summary(streak=1).streaking} == {INSTALL, CONTAINERD, MINIKUBE}
    assert history.summary(streak=4).streaking == []


def test_not_run_steps_neither_break_nor_extend_a_streak(tmp_path):
    h = History(tmp_path / "h.sqlite")
    a = lambda n, st, cat=None: sr(INSTALL, 10, "make", st, cat)
    b = lambda n, st, cat=None: sr(INSTALL, 20, "make install", st, cat)
    h.record(run(1, [doc(INSTALL, "failed", [a(1, "passed"), b(1, "failed", "unknown")])]))
    h.record(run(2, [doc(INSTALL, "failed", [a(2, "failed", "unknown"), b(2, "not-run")])]))
    h.record(run(3, [doc(INSTALL, "failed", [a(3, "passed"), b(3, "failed", "unknown")])]))
    s = h.summary()
    (step_b,) = guide(s, INSTALL).broken_steps
    assert (step_b.broken_since.run_id, step_b.broken_runs) == ("run-1", 2)
    assert s.newly_broken == []
    assert [x.location for x in s.newly_fixed] == [f"{INSTALL}:10"]


def test_identity_by_hash_pairs_duplicate_commands_in_order(tmp_path):
    h = History(tmp_path / "h.sqlite")
    upd = "sudo apt-get update"
    h.record(run(1, [doc(INSTALL, "failed", [sr(INSTALL, 5, upd, "passed"), sr(INSTALL, 9, upd, "failed", "network")])]))
    h.record(run(2, [doc(INSTALL, "failed", [sr(INSTALL, 7, upd, "passed"), sr(INSTALL, 11, upd, "failed", "network")])]))
    db = sqlite3.connect(tmp_path / "h.sqlite")
    keys = db.execute("SELECT run_seq, line, step_key FROM steps ORDER BY run_seq, position").fetchall()
    assert keys[0][2] == keys[2][2] and keys[1][2] == keys[3][2] and keys[0][2] != keys[1][2]
    (second,) = guide(h.summary(), INSTALL).broken_steps
    assert (second.line, second.broken_runs) == (11, 2)


def test_recording_the_same_run_again_replaces_it(history):
    history.record(run3())
    assert history.summary().runs == 3
    db = sqlite3.connect(history.path)
    assert db.execute("SELECT COUNT(*) FROM steps s JOIN runs r ON r.seq = s.run_seq WHERE r.run_id = 'run-3'"
                      ).fetchone()[0] == 6


def test_command_hash_ignores_indentation_only():
    assert command_hash("  sudo  apt-get update \n") == command_hash("sudo apt-get update")
    assert command_hash("sudo apt-get update") != command_hash("sudo apt-get upgrade")


def test_text_rendering(history):
    text = summary_text(history.summary())
    assert "3 run(s) recorded; latest run-3 (2026-11-03T10:00:00+00:00), previous run-2" in text
    assert (f"  {INSTALL}: failed  last passed: never; broken since run-1 (2026-11-01T10:00:00+00:00), "
            "3 run(s) in a row") in text
    assert f"  {INSTALL}:291 [service] broken since run-1 (2026-11-01T10:00:00+00:00) (3 run(s)): {RESTART}" in text
    newly_broken = text[text.index("Newly broken"):text.index("Newly fixed")]
    assert f"{CONTAINERD}:56 [command-not-found]" in newly_broken
    newly_fixed = text[text.index("Newly fixed"):text.index("Broken for 3+")]
    assert f"{DEVGUIDE}:554 passed" in newly_fixed and f"{INSTALL}:300 removed" in newly_fixed
    assert f"  {MINIKUBE}: 3 runs, since run-1" in text[text.index("Broken for 3+"):]


def test_cli_text_and_json(history, capsys):
    assert main(["history", "--history", str(history.path), "--streak", "2"]) == 0
    assert "Broken for 2+ runs in a row" in capsys.readouterr().out
    assert main(["history", "--history", str(history.path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["runs"] == 3 and data["streak"] == 3
    assert data["latest"]["run_id"] == "run-3"
    assert {s["path"] for s in data["streaking"]} == {INSTALL, MINIKUBE}
    assert [x["step_id"] for x in data["newly_broken"]] == [f"{CONTAINERD}:56"]


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["history", "--history", str(tmp_path / "none.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'none.sqlite'}: no history yet" in err
    bad = tmp_path / "bad.sqlite"
    bad.write_text("this is not a database\n" * 100)
    assert main(["history", "--history", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a doctest-runner history database" in err
    with pytest.raises(SystemExit) as exc:
        main(["history", "--history", str(bad), "--streak", "0"])
    assert exc.value.code == 2


def test_empty_history_file_from_another_tool_is_rejected(tmp_path):
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(DoctestError, match="not a doctest-runner history database"):
        History(other).summary()


# -- guide_durations: what `run --shard` balances on -------------------------------------------------------------
def _timed(path: str, seconds: float, status: str = "passed", image: str = "debian-12") -> DocResult:
    return DocResult(path, image, status, seconds, [])


def test_guide_durations_sum_images_per_run_oldest_first_and_leave_the_file_alone(tmp_path):
    db = tmp_path / "history.sqlite"
    h = History(db)
    for k, (a, b) in enumerate([(100.0, 10.0), (900.0, 11.0), (120.0, 12.0)]):
        h.record(RunResult(f"r{k}", "2026-01-01T00:00:00+00:00", HostInfo(accel="tcg", why="test"),
                           [_timed("a.md", a), _timed("b.md", b), _timed("b.md", 2.0, image="ubuntu-24.04")]))
    h.record(RunResult("r-skip", "2026-01-02T00:00:00+00:00", HostInfo(accel="tcg", why="test"),
                       [_timed("a.md", 50.0, status="skipped"), _timed("c.md", 0.0)]))
    before = db.read_bytes()
    got = guide_durations(db)
    assert db.read_bytes() == before  # opened read-only
    assert got == {"a.md": [100.0, 900.0, 120.0], "b.md": [12.0, 13.0, 14.0]}  # skipped and 0 s left out


def test_guide_durations_of_no_history_is_empty_and_of_a_foreign_file_one_line_error(tmp_path):
    assert guide_durations(None) == {} and guide_durations(tmp_path / "none.sqlite") == {}
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(DoctestError) as exc:
        guide_durations(other)
    assert "no docs table" in str(exc.value) and str(other) in str(exc.value) and "\n" not in str(exc.value)
