"""`run --suggest-fixes` and `doctest-runner fix` end to end without a VM: the runner, GuideRun's verdicts, the
fix round (candidates read from the failed guest before it goes, each tried in a run of its own within --jobs) and
the reports, over tests/fake_machine.py's FakeBackend with a guest that answers by what a command says.

The guest here plays Debian's answers: a redirect to /etc under sudo is denied, `sudo tee` is not; the typo
`kata-runtme` is not found and `kata-runtime` exists but fails (the proposer's guess is wrong); a literal
`<VERSION>` is not a file. So the permission fix must be verified, the typo fix rejected, and the placeholder fix
never verified, whatever the run shows.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from fake_machine import FakeBackend, FakeMachine, FakeTerminal
from fix_support import FORWARD_GUIDE

import doctest_runner.cli.run_cmd as run_cmd
from doctest_runner.cli import main
from doctest_runner.cli.walk_cmd import walk_steps
from doctest_runner.fix import Candidate, Fix, edited_step
from doctest_runner.fix.facts import COMMANDS_CMD, PACKAGES_CMD
from doctest_runner.model import DoctestError, ExecResult, HostInfo
from doctest_runner.plan import plan_paths
from doctest_runner.report.json import load_schema
from doctest_runner.run.checkpoint import guide_keys
from doctest_runner.run.fixes import trial_plan
from doctest_runner.run.guide import GuideOptions, GuideRun
from doctest_runner.run.runner import RunOptions, run_plans

HOST = HostInfo("tcg", "test host")
REPO = Path(__file__).resolve().parents[1]

FORWARD = FORWARD_GUIDE  # the failing redirect is line 6; the check line 12

RUNTIME = """\
# Runtime

Check the runtime:

```bash
kata-runtme --version
```
"""  # line 6

UNPACK = """\
# Unpack

Unpack the release you downloaded:

```bash
tar -xJf kata-static-<VERSION>-amd64.tar.xz -C /tmp
```
"""  # line 6


def answer(command: str) -> tuple[int, str]:
    """What the fake Debian guest prints for a step's command (exit status, output)."""
    if "sudo tee" in command:
        return 0, ""
    if "> /etc/" in command:
        return 1, "bash: line 1: /etc/sysctl.d/99-fwd.conf: Permission denied\n"
    if "kata-runtme" in command:
        return 127, "bash: line 1: kata-runtme: command not found\n"
    if "kata-runtime" in command:
        return 1, "kata-runtime: cannot find a configuration file\n"
    if "<VERSION>" in command and "export VERSION=" not in command:  # the marked placeholder itself runs fine
        return 2, "bash: line 1: VERSION: No such file or directory\n"
    return 0, ""


class GuestTerminal(FakeTerminal):
    """FakeTerminal answering by command text, and the guest's facts for the proposers (only while its machine is
    up: facts read after the VM went would be a bug)."""

    def __init__(self, backend: FixBackend):
        super().__init__({}, kvm=False, ran=backend.ran, failed_index={})
        self.backend = backend

    def run_step(self, step, default_timeout=None, on_output=None) -> ExecResult:
        self.ran_ids.append(f"{step.path}:{step.line}")
        code, output = answer(step.command)
        return ExecResult(exit_code=code, output=output, duration_s=0.01, failed_line_index=0 if code else None)

    def capture(self, cmd: str, *, root: bool = True, **_kw: object) -> str:
        if cmd.startswith("sudo "):  # the failure artifacts (journal, dmesg), not facts
            return ""
        with self.backend.lock:
            assert self.backend.up > 0, "facts read from a machine that is gone"
            self.backend.captured.append((cmd, root))
        if cmd == COMMANDS_CMD:
            return "cat\necho\nkata-runtime\ntar\n"
        if cmd == PACKAGES_CMD:
            return "jq\nkata-runtime\n"
        return ""


class FixBackend(FakeBackend):
    """Counts machines up at once (the --jobs bound) and hands out GuestTerminals."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.up = 0
        self.most = 0
        self.captured: list[tuple[str, bool]] = []

    @contextlib.contextmanager
    def machine(self, guide):
        with self.lock:
            self.booted += 1
            self.up += 1
            self.most = max(self.most, self.up)
        try:
            yield FakeMachine()
        finally:
            with self.lock:
                self.up -= 1

    @contextlib.contextmanager
    def session(self, machine, *, log_dir: Path):
        yield GuestTerminal(self)


def _docs(tmp_path: Path, **guides: str) -> list[Path]:
    paths = []
    for name, text in guides.items():
        p = tmp_path / "docs" / f"{name}.md"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        paths.append(p)
    return paths


def _run(tmp_path: Path, paths: list[Path], *, suggest: bool = True, jobs: int = 1):
    backend = FixBackend()
    planset = plan_paths([str(p) for p in paths])
    assert not planset.errors
    options = RunOptions(guide=GuideOptions(suggest_fixes=suggest, fast=False, host=HOST), jobs=jobs,
                         out_dir=tmp_path / "out", progress=False, backend=backend)
    return run_plans(planset.plans, options, host=HOST, log=lambda _m: None), backend


def _fixes(run) -> dict[str, list[Fix]]:
    return {Path(d.path).name: [f for r in d.steps for f in r.fixes if isinstance(f, Fix)] for d in run.docs}


def test_each_candidate_is_tried_and_judged(tmp_path):
    paths = _docs(tmp_path, forward=FORWARD, runtime=RUNTIME, unpack=UNPACK)
    run, backend = _run(tmp_path, paths, jobs=2)
    fixes = _fixes(run)
    [fwd] = fixes["forward.md"]
    assert fwd.verdict.status == "verified" and fwd.candidate.category == "permission"
    assert fwd.verdict.reason == "the guide passes to the end with this change"
    assert fwd.verdict.before_line == 6 and fwd.verdict.after_line is None
    assert fwd.candidate.command == 'echo "net.ipv4.ip_forward = 1" | sudo tee /etc/sysctl.d/99-fwd.conf >/dev/null'
    [typo] = fixes["runtime.md"]
    assert typo.candidate.command == "kata-runtime --version"
    assert typo.verdict.status == "rejected" and "the fixed step still fails" in typo.verdict.reason
    # the marked placeholder runs and the guide passes with it here, yet it is never verified (nor patched)
    [mark] = fixes["unpack.md"]
    assert mark.candidate.placeholder and mark.candidate.command.startswith("export VERSION='<VERSION>'\n")
    assert mark.verdict.status == "partial" and "placeholder a person must fill" in mark.verdict.reason
    assert mark.patch is None
    # no backend machine here keeps checkpoints: each candidate replays its guide from the start, in a machine
    # of its own, after the guide's own machine is gone; never more than --jobs machines at once
    assert backend.booted == 3 + sum(len(v) for v in fixes.values())
    assert backend.most <= 2
    assert backend.ran.count(f"{paths[0]}:12") == 1  # the check ran once: in the fixed run (first stopped at 6)
    # the facts are read as the guide's user (compgen -c sees the guide's PATH), never as root
    assert backend.captured and all(not root for _cmd, root in backend.captured)
    # the doc result keeps its own verdicts: the fix is a proposal, the guide still failed
    assert all(d.status == "failed" for d in run.docs)


def test_one_job_runs_guides_and_candidates_one_at_a_time(tmp_path):
    run, backend = _run(tmp_path, _docs(tmp_path, forward=FORWARD, runtime=RUNTIME), jobs=1)
    assert backend.most == 1 and backend.booted == 4


def test_outputs_patch_fixes_md_and_every_report(tmp_path):
    paths = _docs(tmp_path, forward=FORWARD, runtime=RUNTIME)
    run, _ = _run(tmp_path, paths)
    out = tmp_path / "out"
    patches = list((out / "fixes").rglob("*.patch"))
    assert [p.name for p in patches] == ["forward.md.patch"]  # verified fixes only
    patch = patches[0].read_text()
    assert '-sudo echo "net.ipv4.ip_forward = 1" > /etc/sysctl.d/99-fwd.conf' in patch
    assert '+echo "net.ipv4.ip_forward = 1" | sudo tee /etc/sysctl.d/99-fwd.conf >/dev/null' in patch
    md = (out / "fixes.md").read_text()
    assert "permission: verified" in md and "command-not-found: rejected" in md

    report = json.loads((out / "report.json").read_text())
    validator = jsonschema.Draft202012Validator(load_schema())
    validator.validate(report)
    steps = {Path(d["path"]).name: d["steps"] for d in report["docs"]}
    [rec] = steps["forward.md"][0]["fixes"]
    assert rec["verdict"] == "verified" and rec["before_line"] == 6
    assert rec["patch"] == patches[0].relative_to(out).as_posix()
    assert "fixes" not in steps["forward.md"][1]  # a step that did not fail has none
    [rej] = steps["runtime.md"][0]["fixes"]
    assert rej["verdict"] == "rejected" and rej["patch"] is None
    bad = json.loads(json.dumps(report))
    bad["docs"][0]["steps"][0]["fixes"] = [{**rec, "verdict": "maybe"}]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(bad)

    checklist = (out / "checklist.md").read_text()
    assert "verified: the guide passes to the end with this change" in checklist
    assert "rejected: the fixed step still fails" in checklist
    html = (out / "report.html").read_text()
    assert 'class="fix fix-verified"' in html and "verified: the guide passes to the end with this change" in html


def test_without_the_option_nothing_changes(tmp_path):
    paths = _docs(tmp_path, forward=FORWARD)
    run, backend = _run(tmp_path, paths, suggest=False)
    out = tmp_path / "out"
    assert backend.booted == 1 and not backend.captured
    assert not (out / "fixes.md").exists() and not (out / "fixes").exists()
    report = json.loads((out / "report.json").read_text())
    assert all("fixes" not in s for d in report["docs"] for s in d["steps"])
    assert "fix:" not in (out / "checklist.md").read_text()


def test_a_sidecar_step_gets_no_candidate(tmp_path):
    """A fix is an edit of the doc's lines: a failing sidecar setup step has none (the doc is not where it is)."""
    [doc] = _docs(tmp_path, guide="# G\n\n```bash\necho hi\n```\n")
    (doc.parent / "guide.doctest.yaml").write_text("setup: |\n  sudo echo 1 > /etc/x.conf\n")
    run, backend = _run(tmp_path, [doc])
    assert run.docs[0].status == "failed"
    assert _fixes(run) == {"guide.md": []} and backend.booted == 1


def test_the_trial_starts_where_the_first_run_checkpointed():
    """The steps above the failed one are unchanged, so their checkpoint keys match (resume finds the checkpoint
    before the failed step); the failed step's key and the ones after it differ."""
    plan = plan_paths([str(REPO / "docs_under_test/examples/ip-forward.md")]).plans[0]
    failed = next(s for s in plan.steps if s.line == 10)
    k = [*plan.setup, *plan.steps].index(failed)
    cand = Candidate(failed.id, "permission", "sudo-tee", "t", command=failed.command + "\ntrue")
    before, after = guide_keys(plan, "m"), guide_keys(trial_plan(plan, cand), "m")
    assert before[:k + 1] == after[:k + 1] and before[k + 1] != after[k + 1]


# -- doctest-runner fix ------------------------------------------------------------------------------------------
@pytest.fixture
def fake_run(monkeypatch, tmp_path):
    """`run`'s machinery with the fake guest; `during` (if set) runs while the guide runs."""
    backend = FixBackend()
    hooks: dict[str, object] = {}
    real = run_cmd.run_plans

    def run_plans_fake(plans, options, host=None):
        if callable(hooks.get("during")):
            hooks["during"]()
        return real(plans, replace(options, backend=backend), host=host, log=lambda _m: None)

    monkeypatch.setattr(run_cmd, "run_plans", run_plans_fake)
    monkeypatch.setattr(run_cmd, "check_host_ready", lambda accel=None: HOST)
    monkeypatch.chdir(tmp_path)
    return hooks


def _fix(*argv: str) -> list[str]:
    return ["fix", "--cold-boot", "--no-package-cache", "--out", "out", *argv]


def test_fix_prints_each_candidate_and_applies_the_verified_one(fake_run, tmp_path, capsys):
    [doc] = _docs(tmp_path, forward=FORWARD)
    assert main(_fix(str(doc), "--apply")) == 0
    out = capsys.readouterr().out
    assert f"{doc}:6: permission: " in out and ": verified (" in out
    assert f"fix: applied to {doc}" in out
    lines = doc.read_text().splitlines()
    assert lines[5] == 'echo "net.ipv4.ip_forward = 1" | sudo tee /etc/sysctl.d/99-fwd.conf >/dev/null'
    assert lines[:5] == FORWARD.splitlines()[:5] and lines[6:] == FORWARD.splitlines()[6:]


def test_fix_without_apply_leaves_the_doc(fake_run, tmp_path, capsys):
    [doc] = _docs(tmp_path, forward=FORWARD)
    assert main(_fix(str(doc))) == 0
    assert doc.read_text() == FORWARD
    assert "fix: verified patch: out/fixes/" in capsys.readouterr().out


def test_fix_refuses_a_doc_changed_since_the_run(fake_run, tmp_path, capsys):
    [doc] = _docs(tmp_path, forward=FORWARD)
    fake_run["during"] = lambda: doc.write_text(FORWARD + "\nEdited meanwhile.\n")
    assert main(_fix(str(doc), "--apply")) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("doctest-runner:")]
    assert err == [f"doctest-runner: error: {doc}: changed since the run; not applying a fix verified on other "
                   "text (run `doctest-runner fix` again)"]
    assert doc.read_text().endswith("Edited meanwhile.\n")


def test_fix_with_nothing_verified_exits_1_and_writes_nothing(fake_run, tmp_path, capsys):
    [doc] = _docs(tmp_path, runtime=RUNTIME)
    assert main(_fix(str(doc), "--apply")) == 1
    out = capsys.readouterr().out
    assert ": rejected (" in out and "fix: no candidate was verified; nothing to apply" in out
    assert doc.read_text() == RUNTIME


def test_fix_of_a_missing_doc_is_one_line(fake_run, tmp_path, capsys):
    assert main(_fix("nope.md")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["doctest-runner: error: nope.md: not a file: `fix` takes one guide (a Markdown file)"]


# -- walk: [w]rite an edited step that passed ---------------------------------------------------------------------
LISTED = """\
# Install

1. Install jq:

   ```console
   $ sudo apt-get install jq
   ```
"""  # the prompted command is line 6, inside a list item


def _walk(tmp_path: Path, doc: Path, monkeypatch, typed: list[str], during=None) -> None:
    plan = plan_paths([str(doc)]).plans[0]
    gr = GuideRun(plan=plan, options=GuideOptions(keep_going=True, host=HOST, fast=False),
                  artifacts_dir=tmp_path / "walk", run_id="walk", backend=FixBackend(), log=lambda _m: None)
    keys = iter(typed)

    def typing(prompt: str = "") -> str:
        if prompt.startswith("  the edited step passed") and during is not None:
            during()
        return next(keys)

    monkeypatch.setattr("builtins.input", typing)
    gr.start()
    try:
        walk_steps(gr, [*plan.setup, *plan.steps])
    finally:
        gr.close()


def test_walk_writes_the_edit_that_passed_with_the_docs_formatting(tmp_path, monkeypatch, capsys):
    [doc] = _docs(tmp_path, listed=LISTED)
    _walk(tmp_path, doc, monkeypatch, ["e", "sudo apt-get install -y jq", ".", "r", "w"])
    assert f"written into {doc}:6" in capsys.readouterr().out
    assert doc.read_text() == LISTED.replace("$ sudo apt-get install jq", "$ sudo apt-get install -y jq")


def test_walk_writes_a_failed_step_fixed_by_hand(tmp_path, monkeypatch):
    [doc] = _docs(tmp_path, forward=FORWARD)
    fixed = 'echo "net.ipv4.ip_forward = 1" | sudo tee /etc/sysctl.d/99-fwd.conf >/dev/null'
    _walk(tmp_path, doc, monkeypatch, ["r", "e", fixed, ".", "r", "w", "r"])
    assert doc.read_text().splitlines()[5] == fixed


def test_walk_writes_nothing_when_told_no_or_when_the_doc_changed(tmp_path, monkeypatch, capsys):
    [doc] = _docs(tmp_path, listed=LISTED)
    _walk(tmp_path, doc, monkeypatch, ["e", "sudo apt-get install -y jq", ".", "r", "n"])
    assert doc.read_text() == LISTED
    _walk(tmp_path, doc, monkeypatch, ["e", "sudo apt-get install -y jq", ".", "r", "w"],
          during=lambda: doc.write_text(LISTED + "\nEdited meanwhile.\n"))
    assert f"  not written: {doc}: changed since the run" in capsys.readouterr().out
    assert doc.read_text() == LISTED + "\nEdited meanwhile.\n"


def test_a_sidecar_step_cannot_be_written_back(tmp_path):
    [doc] = _docs(tmp_path, guide="# G\n\n```bash\necho hi\n```\n")
    (doc.parent / "guide.doctest.yaml").write_text("setup: |\n  echo one\n")
    plan = plan_paths([str(doc)]).plans[0]
    with pytest.raises(DoctestError) as info:
        edited_step(plan.setup[0], "echo two")
    assert str(info.value).startswith(f"{doc.parent / 'guide.doctest.yaml'}:2: this step's command is not written "
                                      "in the doc as a command")


def test_fix_of_a_passing_guide_says_so(fake_run, tmp_path, capsys):
    [doc] = _docs(tmp_path, fine="# Fine\n\n```bash\necho fine\n```\n")
    assert main(_fix(str(doc), "--apply")) == 0
    assert "fix: no candidate fix: the guide passed" in capsys.readouterr().out
    assert not (tmp_path / "out" / "fixes").exists() and "No failed step" in (tmp_path / "out/fixes.md").read_text()
