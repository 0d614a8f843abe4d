"""`doctest-runner merge`: shard reports back into one run, with the verdicts the unsharded run had."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from doctest_runner.model import DoctestError, HostInfo, RunResult
from doctest_runner.report import write_all
from doctest_runner.report.json import load_schema, run_dict
from doctest_runner.report.load import LoadedReport, read_report, run_from_dict
from doctest_runner.run.runner import exit_status
from doctest_runner.run.shard import MANIFEST_NAME, assign_paths, merge_runs, merged_run_id, read_manifest
from report_sample import sample

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "doctest_runner", *args], capture_output=True, text=True, cwd=REPO)


def write_shards(run: RunResult, n: int, root: Path, *, manifests: bool = True,
                 started: list[str] | None = None) -> list[Path]:
    """Split a run's docs as `run --shard` would (by guide), and write each part's reports like a shard job."""
    weights = {d.path: float(len(d.steps) + 1) for d in run.docs}
    parts = assign_paths(weights, n)
    dirs = []
    for k, paths in enumerate(parts):
        shard = RunResult(run_id=f"{run.run_id}-s{k + 1}",
                          started_at=started[k] if started else run.started_at,
                          host=run.host, docs=[d for d in run.docs if d.path in paths])
        out = root / f"shard-{k + 1}"
        write_all(shard, out)
        if manifests:
            (out / MANIFEST_NAME).write_text(json.dumps({
                "format": 1, "shard": [k + 1, n], "basis": "steps", "guides": sorted(weights),
                "assigned": sorted(paths)}))
        dirs.append(out)
    return dirs


def verdicts(report: dict) -> list[tuple]:
    return sorted(
        (doc["path"], doc["image"], doc["status"], s["id"], s["status"], s["category"], s["group"], s["line"],
         s["failed_line"], s["location"], s["reason"], s["evidence"])
        for doc in report["docs"] for s in doc["steps"]
    )


def checklist_items(path: Path) -> list[str]:
    return sorted(ln for ln in path.read_text().splitlines() if ln.startswith("- [ ]"))


# -- the loader -----------------------------------------------------------------------------------
def test_loader_round_trips_the_sample_run(tmp_path):
    run = sample().make_run()
    want = run_dict(run)
    assert run_dict(run_from_dict(copy.deepcopy(want))) == want
    write_all(run, tmp_path)
    loaded = read_report(tmp_path)
    assert loaded.complete and loaded.schema_version == 1 and loaded.path == tmp_path / "report.json"
    assert run_dict(loaded.run) == want
    assert run_dict(read_report(tmp_path / "report.json").run) == want


def test_loader_keeps_what_the_reports_render():
    run = sample().make_run()
    back = run_from_dict(run_dict(run))
    for doc, got in zip(run.docs, back.docs):
        assert (got.path, got.image, got.status, got.error, got.artifacts) == \
            (doc.path, doc.image, doc.status, doc.error, doc.artifacts)
        for sr, gr in zip(doc.steps, got.steps):
            assert (gr.step.id, gr.step.path, gr.step.line, gr.step.end_line, gr.step.heading, gr.step.command,
                    gr.step.kind, gr.status, gr.failed_line, gr.category, gr.evidence, gr.output_warning) == \
                (sr.step.id, sr.step.path, sr.step.line, sr.step.end_line, sr.step.heading, sr.step.command,
                 sr.step.kind, sr.status, sr.failed_line, sr.category, sr.evidence, sr.output_warning)
        assert [(c.check, c.passed, c.message) for c in got.checks] == [(c.check, c.passed, c.message)
                                                                        for c in doc.checks]
    assert back.host == run.host


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d["docs"][0]["steps"][1].update(status="exploded"), "docs[0].steps[1].status"),
    (lambda d: d["docs"][2].pop("path"), "docs[2].path"),
    (lambda d: d["docs"][0]["steps"][0].update(line="44"), "docs[0].steps[0].line"),
    (lambda d: d["docs"][0]["checks"][0].update(passed=1), "docs[0].checks[0].passed"),
    (lambda d: d.update(host=None), "host"),
    (lambda d: d.update(docs={}), "docs"),
])
def test_a_malformed_report_is_one_line_naming_file_and_field(tmp_path, mutate, field):
    data = run_dict(sample().make_run())
    mutate(data)
    (tmp_path / "report.json").write_text(json.dumps(data))
    with pytest.raises(DoctestError) as exc:
        read_report(tmp_path)
    msg = str(exc.value)
    assert msg.startswith(str(tmp_path / "report.json") + ": ") and field in msg and "\n" not in msg


def test_reports_the_loader_cannot_read(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DoctestError, match="no report.json here"):
        read_report(tmp_path / "empty")
    with pytest.raises(DoctestError, match="no such report"):
        read_report(tmp_path / "missing")
    (tmp_path / "bad.json").write_text('{"schema_version": 1,\n "docs": [}')
    with pytest.raises(DoctestError, match="not JSON") as exc:
        read_report(tmp_path / "bad.json")
    assert exc.value.line == 2
    newer = run_dict(sample().make_run()) | {"schema_version": 2}
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    with pytest.raises(DoctestError, match="schema_version 2 is newer"):
        read_report(tmp_path / "newer.json")


# -- merging --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4])
def test_merged_shards_give_the_unsharded_verdicts_and_checklist(tmp_path, n):
    run = sample().make_run()
    whole = write_all(run, tmp_path / "whole")
    dirs = write_shards(run, n, tmp_path)
    proc = cli("merge", *map(str, dirs), "--out", str(tmp_path / "merged"))
    assert proc.returncode == exit_status(run) == 2, proc.stderr  # the sample has a guide whose VM did not boot
    merged = tmp_path / "merged"
    for name in ("report.json", "junit.xml", "report.html", "checklist.md"):
        assert (merged / name).is_file()
    want, got = json.loads(whole["json"].read_text()), json.loads((merged / "report.json").read_text())
    jsonschema.validate(got, load_schema())
    assert verdicts(got) == verdicts(want)
    assert got["summary"] == want["summary"] | {"broken": got["summary"]["broken"]}
    assert sorted(got["summary"]["broken"]) == sorted(want["summary"]["broken"])
    assert checklist_items(merged / "checklist.md") == checklist_items(whole["checklist"])
    # the rest of the checklist (sections, guides, not-run guides, warnings) matches too, bar the run id
    body = lambda p: sorted(p.read_text().splitlines()[1:])  # noqa: E731
    assert body(merged / "checklist.md") == body(whole["checklist"])
    assert got["run_id"] == merged_run_id([f"{run.run_id}-s{k}" for k in range(1, n + 1)])
    assert got["started_at"] == run.started_at and got["complete"] is True


def test_merged_docs_are_in_path_order_and_the_id_does_not_depend_on_argument_order(tmp_path):
    run = sample().make_run()
    dirs = write_shards(run, 3, tmp_path)
    a = merge_runs([read_report(d) for d in dirs])
    b = merge_runs([read_report(d) for d in reversed(dirs)], [read_manifest(d) for d in reversed(dirs)])
    assert [d.path for d in a.run.docs] == sorted(d.path for d in run.docs)
    assert a.run.run_id == b.run.run_id and a.run.run_id.startswith("merged-")
    assert run_dict(a.run)["docs"] == run_dict(b.run)["docs"]


def test_started_at_is_the_earliest_shard_and_host_the_first_with_a_note(tmp_path):
    run = sample().make_run()
    dirs = write_shards(run, 2, tmp_path, started=["2026-11-28T19:00:00+00:00", "2026-11-28T18:00:05+00:00"])
    second = read_report(dirs[1])
    second.run.host = HostInfo(accel="kvm", why="/dev/kvm is usable", cpu_mode="host-passthrough")
    result = merge_runs([read_report(dirs[0]), second])
    assert result.run.started_at == "2026-11-28T18:00:05+00:00"
    assert result.run.host.accel == "tcg" and result.run.host.cpu_mode == "max"
    assert "different hosts" in result.run.host.why and "kvm" in result.run.host.why
    assert any("different hosts" in n for n in result.notes)
    same = merge_runs([read_report(d) for d in dirs])
    assert same.run.host == run.host and not any("different hosts" in n for n in same.notes)


def test_a_guide_in_two_shards_is_an_error_naming_both_files(tmp_path):
    run = sample().make_run()
    write_all(RunResult("a", run.started_at, run.host, run.docs[:2]), tmp_path / "one")
    write_all(RunResult("b", run.started_at, run.host, run.docs[1:3]), tmp_path / "two")
    proc = cli("merge", str(tmp_path / "one"), str(tmp_path / "two"), "--out", str(tmp_path / "m"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert run.docs[1].path in proc.stderr
    assert str(tmp_path / "one" / "report.json") in proc.stderr and str(tmp_path / "two" / "report.json") in proc.stderr
    assert not (tmp_path / "m").exists()


def test_the_same_report_twice_and_different_schema_versions_are_errors(tmp_path):
    run = sample().make_run()
    write_all(run, tmp_path / "one")
    with pytest.raises(DoctestError, match="given twice"):
        merge_runs([read_report(tmp_path / "one"), read_report(tmp_path / "one" / "report.json")])
    write_all(RunResult("b", run.started_at, run.host, []), tmp_path / "two")
    old = replace(read_report(tmp_path / "two"), schema_version=0)  # as a future reader of several versions sees it
    with pytest.raises(DoctestError, match="schema_version") as exc:
        merge_runs([read_report(tmp_path / "one"), old])
    assert str(tmp_path / "one" / "report.json") in str(exc.value) and str(old.path) in str(exc.value)


def test_an_unfinished_shard_is_an_error_unless_allowed(tmp_path):
    run = sample().make_run()
    dirs = write_shards(run, 2, tmp_path)
    data = json.loads((dirs[1] / "report.json").read_text())
    data.update(complete=False, finished_at=None)
    (dirs[1] / "report.json").write_text(json.dumps(data))
    proc = cli("merge", *map(str, dirs), "--out", str(tmp_path / "m"))
    assert proc.returncode == 2 and "did not finish" in proc.stderr and str(dirs[1]) in proc.stderr
    proc = cli("merge", *map(str, dirs), "--out", str(tmp_path / "m"), "--allow-incomplete")
    assert proc.returncode == 2, proc.stderr  # the sample's harness error, as `run` would say
    report = json.loads((tmp_path / "m" / "report.json").read_text())
    assert report["complete"] is False and len(report["docs"]) == len(run.docs)


def test_a_missing_shard_is_an_error_unless_allowed(tmp_path):
    run = sample().make_run()
    dirs = write_shards(run, 3, tmp_path)
    proc = cli("merge", str(dirs[0]), str(dirs[2]), "--out", str(tmp_path / "m"))
    assert proc.returncode == 2 and "missing shard(s) 2/3" in proc.stderr
    assert proc.stderr.count("\n") == 1
    result = merge_runs([read_report(d) for d in (dirs[0], dirs[2])], [read_manifest(d) for d in (dirs[0], dirs[2])],
                        allow_incomplete=True)
    assert not result.complete and any("2/3" in n for n in result.notes)


def test_shards_cut_from_different_splits_or_a_lost_guide_are_errors(tmp_path):
    run = sample().make_run()
    dirs = write_shards(run, 2, tmp_path)
    reports = [read_report(d) for d in dirs]
    m1, m2 = (read_manifest(d) for d in dirs)
    lost = replace(m2, assigned=m2.assigned[1:], guides=m2.guides)
    reports[1].run.docs = [d for d in reports[1].run.docs if d.path in lost.assigned]
    with pytest.raises(DoctestError, match="assigned to no shard"):
        merge_runs(reports, [m1, lost])
    with pytest.raises(DoctestError, match="different splits"):
        merge_runs(reports, [m1, replace(m2, guides=m2.guides + ["docs/new.md"])])
    with pytest.raises(DoctestError, match="stale shard.json"):
        merge_runs([read_report(d) for d in dirs], [m1, replace(m2, assigned=[])])
    with pytest.raises(DoctestError, match="given twice"):
        merge_runs([read_report(d) for d in dirs], [m1, replace(m2, index=1)])


# -- exit codes -----------------------------------------------------------------------------------
def _only(run: RunResult, *paths: str) -> RunResult:
    return RunResult(run.run_id, run.started_at, run.host, [d for d in run.docs if d.path in paths])


def test_exit_codes(tmp_path):
    s = sample()
    run = s.make_run()
    passing = _only(run, s.DEVGUIDE)  # only a skipped step
    failing = _only(run, s.CONTAINERD)  # command-not-found: a doc bug
    write_all(passing, tmp_path / "pass")
    write_all(failing, tmp_path / "fail")
    assert cli("merge", str(tmp_path / "pass"), "--out", str(tmp_path / "o1")).returncode == 0
    assert cli("merge", str(tmp_path / "pass"), str(tmp_path / "fail"), "--out", str(tmp_path / "o2")).returncode == 1
    env_only = _only(run, s.INSTALL)
    env_only.docs[0].steps = [sr for sr in env_only.docs[0].steps if sr.category in ("network", "needs-kvm")]
    env_only.docs[0].checks = []
    write_all(env_only, tmp_path / "env")
    assert cli("merge", str(tmp_path / "env"), "--out", str(tmp_path / "o3")).returncode == 1
    assert cli("merge", str(tmp_path / "env"), "--out", str(tmp_path / "o4"), "--fail-on", "doc").returncode == 0
    # usage and input errors: 2, one line
    for args in ([], ["--out", str(tmp_path / "o5")], [str(tmp_path / "nowhere"), "--out", str(tmp_path / "o6")],
                 [str(tmp_path / "pass"), "--out", str(tmp_path / "pass")]):
        proc = cli("merge", *args)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr
        assert len([ln for ln in proc.stderr.splitlines() if "error" in ln]) == 1, proc.stderr
    assert json.loads((tmp_path / "pass" / "report.json").read_text())["run_id"] == passing.run_id  # not overwritten


def test_a_merged_report_can_be_merged_and_loaded_again(tmp_path):
    run = sample().make_run()
    dirs = write_shards(run, 2, tmp_path, manifests=False)
    assert cli("merge", *map(str, dirs), "--out", str(tmp_path / "m")).returncode == 2
    again: LoadedReport = read_report(tmp_path / "m")
    assert verdicts(run_dict(again.run)) == verdicts(run_dict(run))
