"""`doctest-runner merge` of `run --suggest-fixes` shards: the fixes travel in report.json and the merged folder
gets them back in every report, fixes.md and fixes/<doc>.patch, as the unsharded run of the same guides has them.

The shards and the unsharded run here are real runs of the runner (run_plans, `apply_shard` as `run --shard I/N`
calls it) over guides written below, on a fake guest (tests/fake_machine.py) that answers by what a command says
and keeps what it installed: a redirect to /etc under sudo is denied (permission fix, verified), `rg` exists only
after `apt-get install -y ripgrep` (an inserted step, verified), the release file says 12.7 where the doc says 11.9
(an output edit, verified), `apt-get install jq` asks and `-y` finds no package (rejected), and a literal
`<VERSION>` is no file (a placeholder insertion: partial).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from fake_machine import FakeBackend, FakeMachine, FakeTerminal
from fix_support import FORWARD_GUIDE, git_apply, git_repo

from doctest_runner.fix import Fix
from doctest_runner.fix.facts import COMMAND_PACKAGES_CMD, COMMANDS_CMD, PACKAGES_CMD
from doctest_runner.model import DoctestError, ExecResult, HostInfo, RunResult
from doctest_runner.plan import plan_paths
from doctest_runner.report.json import load_schema, run_dict
from doctest_runner.report.load import read_report, run_from_dict
from doctest_runner.run.guide import GuideOptions
from doctest_runner.run.runner import RunOptions, run_plans
from doctest_runner.run.fixes import write_run_fixes
from doctest_runner.run.shard import apply_shard, merge_runs, read_manifest

HOST = HostInfo("tcg", "test host")
REPO = Path(__file__).resolve().parents[1]

GUIDES = {
    "docs/forward.md": FORWARD_GUIDE,  # the failing redirect: line 6
    "docs/search.md": """\
# Search

```console
$ sudo apt-get update
$ rg --version
```
""",  # rg: line 5; the provider's install goes before it
    "docs/release.md": """\
# Release

Check the release:

```console
$ cat /etc/debian_version
11.9
```
""",  # the command: line 6, its documented output: line 7
    "docs/jq.md": """\
# jq

```console
$ sudo apt-get install jq
```
""",  # line 4
    "docs/unpack.md": """\
# Unpack

```bash
tar -xJf kata-static-<VERSION>-amd64.tar.xz -C /tmp
```
""",  # line 4
    "docs/hello.md": """\
# Hello

```bash
echo hello
```
""",  # passes: no fix
}


class Guest(FakeTerminal):
    """A guest that answers by command text and remembers the packages installed in it (one per machine)."""

    def __init__(self) -> None:
        super().__init__({}, kvm=False, ran=[], failed_index={})
        self.installed: set[str] = set()

    def answer(self, command: str) -> tuple[int, str]:
        if "sudo tee" in command:
            return 0, ""
        if "> /etc/" in command:
            return 1, "bash: line 1: /etc/sysctl.d/99-fwd.conf: Permission denied\n"
        if "apt-get install -y ripgrep" in command:
            self.installed.add("ripgrep")
            return 0, ""
        if command.startswith("rg "):
            return (0, "ripgrep 13.0.0\n") if "ripgrep" in self.installed else \
                (127, "bash: line 1: rg: command not found\n")
        if command == "cat /etc/debian_version":
            return 0, "12.7\n"
        if "apt-get install -y jq" in command:
            return 100, "E: Unable to locate package jq\n"
        if "apt-get install jq" in command:
            return 1, "Do you want to continue? [Y/n] Abort.\n"
        if "<VERSION>" in command and "export VERSION=" not in command:
            return 2, "bash: line 1: VERSION: No such file or directory\n"
        return 0, ""

    def run_step(self, step, default_timeout=None, on_output=None) -> ExecResult:
        code, output = self.answer(step.command)
        return ExecResult(exit_code=code, output=output, duration_s=0.01, failed_line_index=0 if code else None)

    def capture(self, cmd: str, **_kw: object) -> str:
        return {COMMANDS_CMD: "cat\necho\ntar\n", PACKAGES_CMD: "jq-tools\nripgrep\n",
                COMMAND_PACKAGES_CMD: "rg ripgrep\n"}.get(cmd, "")


class GuestBackend(FakeBackend):
    @contextlib.contextmanager
    def machine(self, guide):
        yield FakeMachine()

    @contextlib.contextmanager
    def session(self, machine, *, log_dir: Path):
        yield Guest()


def _run(paths: list[str], out: Path, shard: tuple[int, int] | None = None, *, suggest: bool = True) -> RunResult:
    """What `run [--shard I/N] [--suggest-fixes] --output check PATHS --out OUT` does, on the fake guest."""
    planset = plan_paths(paths)
    assert not planset.errors, planset.errors
    plans = apply_shard(planset.plans, shard, history=None, out_dir=out)
    options = RunOptions(guide=GuideOptions(suggest_fixes=suggest, fast=False, host=HOST, output_mode="check"),
                         jobs=1, out_dir=out, progress=False, backend=GuestBackend())
    return run_plans(plans, options, host=HOST, log=lambda _m: None)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A doc repository, the unsharded run of its guides and the same guides as two shards (each an --out folder)."""
    tmp = tmp_path_factory.mktemp("merge-fixes")
    repo = git_repo(tmp, {k: v.encode() for k, v in GUIDES.items()})
    paths = sorted(str(repo / k) for k in GUIDES)
    _run(paths, tmp / "whole")
    for k in (1, 2):
        _run(paths, tmp / f"shard-{k}", (k, 2))
    return {"tmp": tmp, "repo": repo, "whole": tmp / "whole", "s1": tmp / "shard-1", "s2": tmp / "shard-2"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "doctest_runner", *args], capture_output=True, text=True, cwd=REPO)


def fix_records(report: dict, *, timed: bool = True) -> dict[tuple[str, str], list[dict]]:
    """(doc name, step id's line part) -> the step's fix records (`timed=False`: without the trial's wall time,
    which differs from run to run)."""
    return {(Path(d["path"]).name, s["id"].rsplit(":", 1)[1]):
            [r if timed else {**r, "duration_s": None} for r in s["fixes"]]
            for d in report["docs"] for s in d["steps"] if "fixes" in s}


def untimed(text: str) -> str:
    """fixes.md / checklist.md text without the trials' wall times."""
    return re.sub(r"\(\d+\.\d s\)", "(T s)", text)


def sections(fixes_md: Path) -> list[str]:
    """fixes.md's doc sections, untimed and sorted: the runner lists docs in the order their trials finished,
    merge in report order (both list each doc's candidates best first)."""
    return sorted(untimed(fixes_md.read_text()).split("\n## "))


def patches(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text() for p in sorted((out / "fixes").rglob("*.patch"))}


def fix_lines(checklist: Path) -> list[str]:
    return sorted(ln for ln in untimed(checklist.read_text()).splitlines() if ln.lstrip().startswith("- fix:"))


def test_the_shards_each_hold_fixes(runs):
    """The premise of the merge tests: both shards ran guides with fixes, and wrote their own fixes.md."""
    for k in ("s1", "s2"):
        report = json.loads((runs[k] / "report.json").read_text())
        assert fix_records(report), k
        assert (runs[k] / "fixes.md").is_file()
    whole = fix_records(json.loads((runs["whole"] / "report.json").read_text()))
    assert sorted(whole) == [("forward.md", "6"), ("jq.md", "4"), ("release.md", "6"), ("search.md", "5"),
                             ("unpack.md", "4")]
    verdicts = {k: [r["verdict"] for r in v] for k, v in whole.items()}
    assert verdicts[("forward.md", "6")] == ["verified"] and verdicts[("search.md", "5")] == ["verified"]
    assert verdicts[("release.md", "6")] == ["verified"] and verdicts[("jq.md", "4")] == ["rejected"]
    assert "partial" in verdicts[("unpack.md", "4")]
    [out] = whole[("release.md", "6")]
    assert out["edits"][0]["role"] == "output" and out["edits"][0]["old"] == ["11.9"]
    assert out["expected_output"] == "12.7" and out["edits"][0]["line"] == 7
    [ins] = whole[("search.md", "5")]
    assert ins["edits"][0] | {"new": None} == {"path": str(runs["repo"] / "docs/search.md"), "line": 5,
                                               "end_line": 4, "old": [], "role": "command",
                                               "anchor": "rg --version", "new": None}


def test_merge_writes_the_fixes_as_the_unsharded_run_does(runs):
    merged = runs["tmp"] / "merged"
    proc = cli("merge", str(runs["s1"]), str(runs["s2"]), "--out", str(merged))
    assert proc.returncode == 1, proc.stderr  # doc bugs, as the unsharded run
    assert "fixes.md" in proc.stdout and "Traceback" not in proc.stderr
    want = json.loads((runs["whole"] / "report.json").read_text())
    got = json.loads((merged / "report.json").read_text())
    jsonschema.validate(got, load_schema())
    # every record, patch names included, as the unsharded run wrote it
    assert fix_records(got, timed=False) == fix_records(want, timed=False)
    assert fix_records(got)[("forward.md", "6")][0]["patch"] == "fixes/docs/forward.md.patch"
    # fixes.md and the patches: the same files, and the patches apply to the docs
    assert sections(merged / "fixes.md") == sections(runs["whole"] / "fixes.md")
    assert len(sections(merged / "fixes.md")) == 6  # the title and one section per doc with fixes
    assert patches(merged) == patches(runs["whole"])
    assert sorted(patches(merged)) == ["fixes/docs/forward.md.patch", "fixes/docs/release.md.patch",
                                       "fixes/docs/search.md.patch"]
    for text in patches(merged).values():
        assert git_apply(runs["repo"], text, check_only=True).returncode == 0
    assert "+$ sudo apt-get install -y ripgrep\n $ rg --version" in patches(merged)["fixes/docs/search.md.patch"]
    assert "-11.9\n+12.7" in patches(merged)["fixes/docs/release.md.patch"]
    # the fix and its proof under the step in checklist.md and report.html
    assert fix_lines(merged / "checklist.md") == fix_lines(runs["whole"] / "checklist.md")
    assert any("patch fixes/docs/forward.md.patch" in ln for ln in fix_lines(merged / "checklist.md"))
    html = (merged / "report.html").read_text()
    assert html.count('class="fix fix-verified"') == 3 and 'class="fix fix-rejected"' in html
    # the shards' own outputs are left as they were
    assert (runs["s1"] / "fixes.md").read_text() != (merged / "fixes.md").read_text()


def test_round_trip_keeps_every_fix_field(runs, tmp_path):
    """write -> load -> write: the same records; loaded, they are the Fix objects the runner attached."""
    first = json.loads((runs["whole"] / "report.json").read_text())
    loaded = read_report(runs["whole"])
    again = run_dict(loaded.run)
    assert again["docs"] == first["docs"]
    assert run_dict(run_from_dict(copy.deepcopy(first)))["docs"] == first["docs"]
    fixes = [f for d in loaded.run.docs for sr in d.steps for f in sr.fixes]
    assert len(fixes) == 5 and all(isinstance(f, Fix) for f in fixes)
    for doc in loaded.run.docs:
        for sr in doc.steps:
            assert all(f.candidate.step_id == sr.step.id for f in sr.fixes)
    # every field the record has comes back (a key missing from the loader would be dropped on the second write)
    record_keys = {k for recs in fix_records(first).values() for r in recs for k in r}
    assert {"expected_output", "edits", "patch", "insert_before", "placeholder"} <= record_keys
    # the fixes rebuild the same patches from the report alone
    write_run_fixes(loaded.run, tmp_path)
    assert patches(tmp_path) == patches(runs["whole"])
    assert sections(tmp_path / "fixes.md") == sections(runs["whole"] / "fixes.md")


def test_merge_api_keeps_the_fixes_on_their_steps(runs):
    result = merge_runs([read_report(runs["s1"]), read_report(runs["s2"])],
                        [read_manifest(runs["s1"]), read_manifest(runs["s2"])])
    got = {(Path(d.path).name, sr.step.line): [f.verdict.status for f in sr.fixes]
           for d in result.run.docs for sr in d.steps if sr.fixes}
    assert got[("forward.md", 6)] == ["verified"] and got[("jq.md", 4)] == ["rejected"]


def test_shards_without_suggest_fixes_merge_as_before(tmp_path):
    repo = git_repo(tmp_path, {k: v.encode() for k, v in GUIDES.items()})
    paths = sorted(str(repo / k) for k in GUIDES)
    for k in (1, 2):
        _run(paths, tmp_path / f"s{k}", (k, 2), suggest=False)
    proc = cli("merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(tmp_path / "m"))
    assert proc.returncode == 1, proc.stderr
    assert not (tmp_path / "m" / "fixes.md").exists() and not (tmp_path / "m" / "fixes").exists()
    report = json.loads((tmp_path / "m" / "report.json").read_text())
    assert not fix_records(report) and "fix:" not in (tmp_path / "m" / "checklist.md").read_text()
    assert "fixes.md" not in proc.stdout


def test_suggest_fixes_shards_with_nothing_to_fix_still_get_fixes_md(tmp_path):
    repo = git_repo(tmp_path, {"docs/hello.md": GUIDES["docs/hello.md"].encode(),
                               "docs/hi.md": GUIDES["docs/hello.md"].encode()})
    paths = [str(repo / "docs/hello.md"), str(repo / "docs/hi.md")]
    _run(paths, tmp_path / "whole")
    for k in (1, 2):
        _run(paths, tmp_path / f"s{k}", (k, 2))
    proc = cli("merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(tmp_path / "m"))
    assert proc.returncode == 0, proc.stderr
    assert untimed((tmp_path / "m" / "fixes.md").read_text()) == untimed((tmp_path / "whole" / "fixes.md").read_text())
    assert "No failed step had a fix to propose." in (tmp_path / "m" / "fixes.md").read_text()


def test_a_doc_changed_since_the_shard_ran_gets_no_patch_and_says_why(tmp_path):
    repo = git_repo(tmp_path, {k: v.encode() for k, v in GUIDES.items() if k in ("docs/forward.md", "docs/jq.md")})
    paths = sorted(str(repo / k) for k in ("docs/forward.md", "docs/jq.md"))
    for k in (1, 2):
        _run(paths, tmp_path / f"s{k}", (k, 2))
    shard_recs = {**fix_records(json.loads((tmp_path / "s1/report.json").read_text())),
                  **fix_records(json.loads((tmp_path / "s2/report.json").read_text()))}
    assert shard_recs[("forward.md", "6")][0]["patch"] == "fixes/docs/forward.md.patch"
    forward = repo / "docs/forward.md"
    forward.write_text(forward.read_text().replace("sudo echo", "echo"))  # edited after the run
    proc = cli("merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(tmp_path / "m"))
    assert proc.returncode == 1, proc.stderr
    assert f"note: {forward}: a verified fix but no patch" in proc.stderr
    md = (tmp_path / "m" / "fixes.md").read_text()
    assert f"No patch: {forward}:6: the doc does not hold" in md
    assert not (tmp_path / "m" / "fixes").exists()
    report = json.loads((tmp_path / "m" / "report.json").read_text())
    [rec] = fix_records(report)[("forward.md", "6")]
    assert rec["verdict"] == "verified" and rec["patch"] is None  # the shard's patch is not this folder's


# -- bad fix data in a shard report ----------------------------------------------------------------
def _first(report: dict, name: str) -> dict:
    return next(s for d in report["docs"] if Path(d["path"]).name == name for s in d["steps"] if "fixes" in s)


def _edit(report: dict, name: str) -> dict:
    return _first(report, name)["fixes"][0]["edits"][0]


@pytest.mark.parametrize("name,mutate,field", [
    ("forward.md", lambda r: _first(r, "forward.md")["fixes"][0].update(verdict="maybe"), "fixes[0].verdict"),
    ("forward.md", lambda r: _first(r, "forward.md")["fixes"][0].pop("reason"), "fixes[0].reason"),
    ("forward.md", lambda r: _first(r, "forward.md")["fixes"][0].update(category="typo"), "fixes[0].category"),
    ("forward.md", lambda r: _first(r, "forward.md")["fixes"][0].update(duration_s=-1), "fixes[0].duration_s"),
    ("forward.md", lambda r: _first(r, "forward.md")["fixes"][0].update(placeholder=True), "fixes[0].verdict"),
    ("forward.md", lambda r: _first(r, "forward.md")["fixes"][0].update(patch="../../etc/x.patch"),
     "fixes[0].patch"),
    ("forward.md", lambda r: _first(r, "forward.md").update(status="passed", category=None), "fixes[0]"),
    ("forward.md", lambda r: _edit(r, "forward.md").update(path="/elsewhere/other.md"), "edits[0].path"),
    ("forward.md", lambda r: _edit(r, "forward.md").pop("old"), "edits[0].old"),
    ("forward.md", lambda r: _edit(r, "forward.md").update(old=["a", "b"]), "edits[0].old"),
    ("forward.md", lambda r: _edit(r, "forward.md").update(line="6"), "edits[0].line"),
    ("forward.md", lambda r: _edit(r, "forward.md").update(role="prose"), "edits[0].role"),
    ("search.md", lambda r: _edit(r, "search.md").update(anchor=""), "edits[0]"),
    ("search.md", lambda r: _edit(r, "search.md").update(old=["rg --version"]), "edits[0]"),
    ("jq.md", lambda r: _first(r, "jq.md")["fixes"][0].update(patch="fixes/docs/jq.md.patch"), "fixes[0].patch"),
    ("jq.md", lambda r: _first(r, "jq.md").update(fixes={}), "fixes"),
])
def test_bad_fix_data_is_one_line_naming_file_and_field(runs, tmp_path, name, mutate, field):
    data = json.loads((runs["whole"] / "report.json").read_text())
    mutate(data)
    (tmp_path / "report.json").write_text(json.dumps(data))
    with pytest.raises(DoctestError) as exc:
        read_report(tmp_path)
    msg = str(exc.value)
    assert msg.startswith(str(tmp_path / "report.json") + ": not a valid report: docs[") and "\n" not in msg
    assert f"].{field}" in msg, msg


def test_bad_fix_data_in_a_shard_fails_the_merge_in_one_line(runs, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    data = json.loads((runs["s2"] / "report.json").read_text())
    step = next(s for d in data["docs"] for s in d["steps"] if "fixes" in s)
    step["fixes"][0]["edits"] = [{**e, "end_line": e["line"] + 5} for e in step["fixes"][0]["edits"]]
    assert step["fixes"][0]["edits"]
    (bad / "report.json").write_text(json.dumps(data))
    (bad / "shard.json").write_text((runs["s2"] / "shard.json").read_text())
    proc = cli("merge", str(runs["s1"]), str(bad), "--out", str(tmp_path / "m"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and str(bad / "report.json") in proc.stderr and "fixes[0].edits[0]" in proc.stderr
    assert not (tmp_path / "m").exists()


def test_merged_fixes_are_read_back_by_a_second_merge(runs, tmp_path):
    """A merged folder is itself a report with fixes: merging it alone gives the same fixes and patches."""
    first = tmp_path / "m1"
    assert cli("merge", str(runs["s1"]), str(runs["s2"]), "--out", str(first)).returncode == 1
    second = tmp_path / "m2"
    proc = cli("merge", str(first), "--out", str(second))
    assert proc.returncode == 1, proc.stderr
    assert fix_records(json.loads((second / "report.json").read_text())) == \
        fix_records(json.loads((first / "report.json").read_text()))
    assert patches(second) == patches(first) and (second / "fixes.md").read_text() == (first / "fixes.md").read_text()


def test_loaded_fix_equals_the_attached_one(runs):
    """The loaded Fix is the runner's (durations as report.json rounds them)."""
    paths = sorted(str(runs["repo"] / k) for k in GUIDES)
    run = _run(paths, runs["tmp"] / "again")
    attached = [replace(f, verdict=replace(f.verdict, duration_s=round(f.verdict.duration_s, 3)))
                for d in run.docs for sr in d.steps for f in sr.fixes]
    loaded = [f for d in read_report(runs["tmp"] / "again").run.docs for sr in d.steps for f in sr.fixes]
    assert loaded == attached
