"""Acceleration is decided once, at the command's edge, and passed down: --accel, then $DOCTEST_RUNNER_ACCEL,
then the probe; `run` never writes the environment, and every guide gets the decided HostInfo."""

from __future__ import annotations

import os

import pytest

from doctest_runner.cli import main
from doctest_runner.model import DoctestError, HostInfo
from doctest_runner.vm import decide_host, requested_accel

GUIDE = """\
# Hello

```console
$ echo hello
hello
```
"""


def test_requested_accel_prefers_the_flag_then_the_environment():
    assert requested_accel("kvm", env={"DOCTEST_RUNNER_ACCEL": "tcg"}) == "kvm"
    assert requested_accel(None, env={"DOCTEST_RUNNER_ACCEL": "tcg"}) == "tcg"
    assert requested_accel(None, env={"DOCTEST_RUNNER_ACCEL": ""}) is None
    assert requested_accel(None, env={}) is None


def test_decide_host_honours_the_request_and_names_a_bad_one():
    info = decide_host(None, env={"DOCTEST_RUNNER_ACCEL": "TCG"})
    assert (info.accel, info.why, info.cpu_mode) == ("tcg", "requested by accel=", "maximum")
    assert decide_host("tcg", env={"DOCTEST_RUNNER_ACCEL": "kvm"}).accel == "tcg"  # the flag wins
    with pytest.raises(DoctestError, match=r"accel='xen': expected kvm or tcg"):
        decide_host(None, env={"DOCTEST_RUNNER_ACCEL": "xen"})


def test_run_decides_once_passes_host_down_and_leaves_the_environment_alone(tmp_path, monkeypatch):
    import doctest_runner.cli.run_cmd as run_cmd

    doc = tmp_path / "hello.md"
    doc.write_text(GUIDE)
    monkeypatch.delenv("DOCTEST_RUNNER_ACCEL", raising=False)
    asked: list[str | None] = []
    seen = {}
    decided = HostInfo(accel="tcg", why="requested by accel=", cpu_mode="maximum")

    def host_ready(accel=None):
        asked.append(accel)
        return decided

    class Ran(Exception):
        pass

    def run_plans(plans, options, host=None):
        seen.update(options=options, host=host)
        raise Ran

    monkeypatch.setattr(run_cmd, "check_host_ready", host_ready)
    monkeypatch.setattr(run_cmd, "run_plans", run_plans)
    with pytest.raises(Ran):
        main(["run", "--accel", "tcg", "--no-package-cache", "--out", str(tmp_path / "out"), str(doc)])
    assert asked == ["tcg"]
    assert seen["host"] is decided and seen["options"].guide.host is decided
    assert seen["options"].guide.accel == "tcg"
    assert "DOCTEST_RUNNER_ACCEL" not in os.environ

    monkeypatch.setenv("DOCTEST_RUNNER_ACCEL", "tcg")  # the user's setting, read at the edge only
    asked.clear()
    with pytest.raises(Ran):
        main(["run", "--no-package-cache", "--out", str(tmp_path / "out"), str(doc)])
    assert asked == ["tcg"] and seen["options"].guide.accel == "tcg"
