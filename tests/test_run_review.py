"""What a reviewer uses: `walk` through a guide step by step, and `--keep-on-failure` to get into the VM."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.vm

REPO = Path(__file__).resolve().parents[1]
EX = "docs_under_test/examples"


def test_walk_runs_retries_edits_and_quits(tmp_path):
    # step 1 passes; step 2 (the typo) fails; retry fails again; edit it to the right command; quit
    answers = "r\nr\nr\ne\necho fixed-by-reviewer\n.\nr\nq\n"
    proc = subprocess.run(
        [sys.executable, "-m", "doctest_runner", "walk", f"{EX}/missing-tool.md", "--out", str(tmp_path)],
        cwd=REPO, input=answers, capture_output=True, text=True, timeout=900,
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"[1/2] {EX}/missing-tool.md:6" in out and f"[2/2] {EX}/missing-tool.md:8" in out
    assert out.count(f"failed: {EX}/missing-tool.md:8: command-not-found") == 2
    assert "| echo fixed-by-reviewer" in out
    assert out.count("  passed") == 2
    assert "removing the VM" in out


def test_keep_on_failure_leaves_a_vm_to_ssh_into(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "doctest_runner", "run", f"{EX}/ip-forward.md", "--out", str(tmp_path),
         "--keep-on-failure", "--no-progress"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1, text[-2000:]
    ssh = re.search(r"VM (\S+) kept for \S+: (ssh .+)", text)
    remove = re.search(r"remove it with: (doctest-runner doctor --fix --remove-kept (\S+))$", text, re.M)
    assert ssh and remove, text[-2000:]
    name = ssh.group(1)
    assert remove.group(2) == name
    try:
        argv = shlex.split(ssh.group(2)) + ["cat /etc/sysctl.d/99-containers.conf 2>&1; id -un"]
        inside = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        # the reviewer sees the state the failed step left: the file was never written
        assert "No such file or directory" in inside.stdout and "tester" in inside.stdout
        # the next run's reaper leaves a kept VM alone
        from doctest_runner.vm import reap_stale

        assert name not in reap_stale()
    finally:
        argv = [sys.executable, "-m", "doctest_runner", *shlex.split(remove.group(1))[1:]]
        gone = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert f"fix: removed kept or stale VM {name}" in gone.stdout, gone.stdout + gone.stderr
    doms = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--name"], capture_output=True, text=True)
    assert name not in doms.stdout
