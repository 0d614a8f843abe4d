"""A run killed in the middle: finished guides stay readable in report.json, and no VM is left.

SIGTERM: the run removes its VMs itself. kill -9: nothing can run in the dying process,
so the next run removes what the dead owner left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from doctest_runner.vm.state import qemu_pids, vms_dir

pytestmark = pytest.mark.vm

REPO = Path(__file__).resolve().parents[1]
EX = "docs_under_test/examples"
GUIDES = [f"{EX}/missing-tool.md", f"{EX}/hello-service.md", f"{EX}/forwarding-check.md"]


def _domains() -> list[str]:
    out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True, text=True)
    return [n.strip() for n in out.stdout.splitlines() if n.strip()]


def _start(out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "doctest_runner", "run", *GUIDES, "--out", str(out), "--jobs", "1", "--no-progress"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _wait_first_guide_and_second_vm(proc: subprocess.Popen, out: Path, timeout: float = 600) -> str:
    """Wait until one guide is in report.json and the next guide's VM is up; return the run id."""
    deadline = time.monotonic() + timeout
    run_id = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        report = out / "report.json"
        if report.exists():
            data = json.loads(report.read_text())
            run_id = data["run_id"]
            if data["docs"] and any(d.startswith(f"doctest-{run_id}-1") for d in _domains()):
                return run_id
        time.sleep(1)
    raise AssertionError("the run did not reach its second guide in time")


def _leftovers(run_id: str) -> list[str]:
    names = [d for d in _domains() if d.startswith(f"doctest-{run_id}")]
    dirs = [p.name for p in vms_dir().glob(f"doctest-{run_id}*")]
    procs = [str(pid) for i in range(len(GUIDES)) for pid in qemu_pids(f"doctest-{run_id}-{i}")]
    return names + dirs + procs


def _finished_guide_readable(out: Path) -> None:
    data = json.loads((out / "report.json").read_text())
    assert data["complete"] is False
    paths = [d["path"] for d in data["docs"]]
    assert paths == [GUIDES[0]]
    steps = data["docs"][0]["steps"]
    assert [s["status"] for s in steps] == ["passed", "failed"]
    assert steps[1]["category"] == "command-not-found"


def test_sigterm_mid_run(tmp_path):
    proc = _start(tmp_path)
    run_id = _wait_first_guide_and_second_vm(proc, tmp_path)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    assert proc.returncode != 0
    _finished_guide_readable(tmp_path)
    assert _leftovers(run_id) == []


def test_kill_9_then_next_run_cleans_up(tmp_path):
    proc = _start(tmp_path)
    run_id = _wait_first_guide_and_second_vm(proc, tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    _finished_guide_readable(tmp_path)
    assert _leftovers(run_id), "kill -9 cannot clean up: something must be left for the next run"
    nxt = subprocess.run(
        [sys.executable, "-m", "doctest_runner", "run", f"{EX}/missing-tool.md", "--out", str(tmp_path / "next"),
         "--no-progress"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert nxt.returncode == 1, nxt.stderr[-2000:]
    assert f"doctest-{run_id}-1" in nxt.stdout + nxt.stderr  # it says what it removed
    assert _leftovers(run_id) == []
