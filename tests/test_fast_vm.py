"""Restored machines (TCG here): distinct identities, fallback to a cold boot, resume from a checkpoint."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from doctest_runner.vm import decide_host, ensure_state, fresh_machine
from doctest_runner.vm.machine import guest_run

pytestmark = pytest.mark.vm
REPO = Path(__file__).resolve().parents[1]


def test_two_restored_vms_have_their_own_keys_ids_and_ports(built_image, tmp_path):
    ensure_state(built_image, host=decide_host())
    with contextlib.ExitStack() as stack:
        ms = [stack.enter_context(fresh_machine(built_image, host=decide_host(),
                                                run_id=f"fast-{i}-{tmp_path.name[-8:]}", workdir=tmp_path))
              for i in range(2)]
        assert all(m.restored_from is not None for m in ms)
        assert [m.identity_via for m in ms] == ["agent", "agent"]  # the image's guest agent, no SSH login first
        seen = [guest_run(m, "cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub")[1] for m in ms]
        assert seen[0] != seen[1] and ms[0].ssh_port != ms[1].ssh_port
        ids = [s.split()[0] for s in seen]
        assert ids[0] != ids[1]
        # each login above checked the key the clone was given: the one now on its disk, served by its sshd
        for m, text in zip(ms, seen):
            assert m.host_key and m.host_key.split()[1] in text


def test_without_a_working_guest_agent_the_identity_goes_over_ssh(built_image, tmp_path, monkeypatch):
    from doctest_runner.vm import agent

    def no_agent(*_a, **_k):
        raise agent.AgentUnavailable("QEMU guest agent is not connected")

    monkeypatch.setattr(agent, "run_script", no_agent)
    ensure_state(built_image, host=decide_host())
    with fresh_machine(built_image, host=decide_host(), run_id=f"fast-ssh-{tmp_path.name[-8:]}",
                       workdir=tmp_path) as m:
        assert m.restored_from is not None and m.identity_via == "ssh"
        rc, text = guest_run(m, "cat /etc/ssh/ssh_host_ed25519_key.pub")
        assert rc == 0 and m.host_key and m.host_key.split()[1] in text


def test_corrupt_state_falls_back_to_cold_boot(built_image, tmp_path):
    state = ensure_state(built_image, host=decide_host())
    logs: list[str] = []
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "memory.sav").write_bytes(b"LibvirtQemudSave" + b"\0" * 200)
    from dataclasses import replace

    broken = replace(state, path=bad)
    with fresh_machine(built_image, host=decide_host(), run_id=f"fast-bad-{tmp_path.name[-8:]}", workdir=tmp_path,
                       start_from=broken, log=logs.append) as m:
        assert m.restored_from is None
        assert guest_run(m, "true")[0] == 0
    assert any("cold boot" in line for line in logs), logs


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "doctest_runner", "run", "--no-progress", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("live", ["1", "0"], ids=["live-checkpoints", "stopped-checkpoints"])
def test_resume_reruns_only_from_the_failed_step(tmp_path, own_checkpoints, monkeypatch, live):
    """Checkpoints taken live (the VM goes on) or, where libvirt refuses that, by a save that stops the VM and a
    restore to go on: either way the guide's later steps see the state, and --resume starts from the last one."""
    monkeypatch.setenv("DOCTEST_RUNNER_LIVE_CHECKPOINT", live)
    guide = tmp_path / "guide.md"
    # the run id makes the steps, so the checkpoint keys, this test's own: nothing saved before is reused
    guide.write_text(f"# T\n\n```console\n$ export A=hello RUN={tmp_path.name}\n$ cd /tmp\n"
                     "$ sudo systemctl start cron && echo one > f1\n$ cat nosuchfile\n```\n")
    proc = _run(str(guide), "--out", str(tmp_path / "o1"))  # checkpoints after every passing step by default
    assert proc.returncode == 1, proc.stderr[-2000:]
    made = re.findall(r"checkpoint after (\d) step\(s\): \w+ \((live|stopped), ", proc.stdout + proc.stderr)
    assert made == [(str(k), "live" if live == "1" else "stopped") for k in (1, 2, 3)], proc.stderr[-2000:]
    steps = json.loads((tmp_path / "o1" / "report.json").read_text())["docs"][0]["steps"]
    assert [s["status"] for s in steps] == ["passed"] * 3 + ["failed"]
    guide.write_text(guide.read_text().replace(
        "cat nosuchfile", 'test "$A" = hello && pwd | grep -qx /tmp && grep -qx one f1 && systemctl is-active cron'))
    proc = _run(str(guide), "--out", str(tmp_path / "o2"), "--resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "resume: 3 step(s) unchanged" in proc.stdout + proc.stderr
    steps = json.loads((tmp_path / "o2" / "report.json").read_text())["docs"][0]["steps"]
    assert [s["status"] for s in steps] == ["passed"] * 4
    assert "previous run" in (steps[0].get("explanation") or "")
    guide.write_text(guide.read_text().replace("export A=hello", "export A=hello B=1"))
    proc = _run(str(guide), "--out", str(tmp_path / "o3"), "--resume")
    assert "running from the start" in proc.stdout + proc.stderr
