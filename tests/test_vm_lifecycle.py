"""vm/lifecycle.py with a fake provider: the order of a VM's life, the port retry by error kind, keep or destroy,
cleanup after errors and SIGTERM; the run id; owner records as `list_vms` reads them. No libvirt, no VM."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from doctest_runner.model import DoctestError
from doctest_runner.vm.lifecycle import (
    RUN_ID_RE,
    Provider,
    StartFailed,
    check_run_id,
    lifecycle,
    new_run_id,
    port_error_kind,
)
from doctest_runner.vm.state import Owner, list_vms, save_owner, write_owner

PORT_TAKEN = ("internal error: qemu unexpectedly closed the monitor: could not set up host forwarding rule "
              "'tcp:127.0.0.1:40001-:22'")


class FakeMachine:
    def __init__(self, port: int):
        self.port = port
        self.destroyed = False


class FakeProvider(Provider[FakeMachine]):
    """Records every call; `failures` are the start errors of the first attempts, `fail_in` a step to raise in."""

    def __init__(self, records: Path, failures: list[str] = (), fail_in: str = "", run_id: str = "t1"):
        super().__init__(run_id)
        self.dir = records
        self.calls: list[str] = []
        self.failures = list(failures)
        self.fail_in = fail_in
        self.ports = iter(range(40001, 40100))

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_in:
            raise DoctestError(f"{name} failed")

    def open(self) -> None:
        self._step("open")

    def records(self) -> Path:
        return self.dir

    def record(self, vmdir: Path) -> None:
        self._step("record")
        write_owner(vmdir, self.name)

    def prepare(self) -> None:
        self._step("prepare")

    def next_port(self) -> int:
        return next(self.ports)

    def start(self, port: int) -> None:
        self.calls.append(f"start {port}")
        if self.failures:
            raise StartFailed(self.failures.pop(0))

    def start_failed(self, message: str) -> Exception:
        return DoctestError(f"could not start {self.name}: {message}")

    def build(self, port: int) -> FakeMachine:
        self.calls.append(f"build {port}")
        return FakeMachine(port)

    def ready(self, machine: FakeMachine) -> None:
        self._step("ready")

    def keep(self, machine: FakeMachine) -> None:
        self.calls.append("keep")

    def destroy(self, machine: FakeMachine) -> None:
        self.calls.append("destroy")
        machine.destroyed = True

    def destroyed(self, machine: FakeMachine) -> bool:
        return machine.destroyed

    def abandon(self) -> None:
        self.calls.append(f"abandon {self.vmdir.name if self.vmdir else None}")
        if self.vmdir is not None:
            for f in self.vmdir.iterdir():
                f.unlink()
            self.vmdir.rmdir()


def test_success_runs_every_step_in_order_and_destroys_at_the_end(tmp_path):
    p = FakeProvider(tmp_path)
    with lifecycle(p) as m:
        assert p.calls == ["open", "record", "prepare", "start 40001", "build 40001", "ready"]
        assert (tmp_path / "doctest-t1" / "owner.json").is_file()
        assert m.port == 40001
    assert p.calls[-1] == "destroy"


def test_a_lost_port_is_retried_on_the_next_port_and_other_errors_are_not(tmp_path):
    p = FakeProvider(tmp_path, failures=[PORT_TAKEN, PORT_TAKEN])
    with lifecycle(p) as m:
        assert m.port == 40003
    assert [c for c in p.calls if c.startswith("start")] == ["start 40001", "start 40002", "start 40003"]

    p = FakeProvider(tmp_path, failures=["Cannot access storage file '/nope/overlay.qcow2'"], run_id="t2")
    with pytest.raises(DoctestError, match=r"could not start doctest-t2: Cannot access storage file"):
        with lifecycle(p):
            pass
    assert p.calls[-2:] == ["start 40001", "abandon doctest-t2"]  # nothing built: the claim is undone
    assert not (tmp_path / "doctest-t2").exists()


def test_a_port_lost_on_every_attempt_gives_up_after_attempts(tmp_path):
    p = FakeProvider(tmp_path, failures=[PORT_TAKEN] * 10)
    p.attempts = 3
    with pytest.raises(DoctestError, match="host forwarding rule"):
        with lifecycle(p):
            pass
    assert [c for c in p.calls if c.startswith("start")] == ["start 40001", "start 40002", "start 40003"]
    assert p.calls[-1] == "abandon doctest-t1"


def test_port_error_kind():
    assert port_error_kind(PORT_TAKEN) == "port-in-use"
    assert port_error_kind("Could not set up host forwarding rule 'tcp:127.0.0.1:2222-:22'") == "port-in-use"
    assert port_error_kind("unsupported configuration: domain requires KVM") == "other"
    assert StartFailed("operation failed: forwarding").kind == "port-in-use"


def test_keep_keeps_unless_the_machine_was_destroyed_already(tmp_path):
    p = FakeProvider(tmp_path)
    with lifecycle(p, keep=True):
        pass
    assert p.calls[-1] == "keep"

    p = FakeProvider(tmp_path, run_id="t3")
    with lifecycle(p, keep=True) as m:
        p.destroy(m)  # the guide passed and removed it itself
    assert p.calls[-2:] == ["destroy", "destroy"] and "keep" not in p.calls


def test_a_name_another_process_holds_is_an_error_and_its_directory_stays(tmp_path):
    theirs = tmp_path / "doctest-t1"
    theirs.mkdir()
    (theirs / "overlay.qcow2").write_text("someone else's")
    p = FakeProvider(tmp_path)
    with pytest.raises(DoctestError, match=r"a VM named doctest-t1 already exists .*use another run id"):
        with lifecycle(p):
            pass
    assert p.calls == ["open", "abandon None"]
    assert (theirs / "overlay.qcow2").read_text() == "someone else's"


def test_an_error_after_the_machine_exists_destroys_it(tmp_path):
    p = FakeProvider(tmp_path, fail_in="ready")
    with pytest.raises(DoctestError, match="ready failed"):
        with lifecycle(p):
            pass
    assert p.calls[-2:] == ["ready", "destroy"]


def test_sigterm_while_the_vm_is_up_exits_143_after_cleanup(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    p = FakeProvider(tmp_path)
    with pytest.raises(SystemExit) as ended:
        with lifecycle(p):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises at once: the sleep is cut short
    assert ended.value.code == 143
    assert p.calls[-1] == "destroy"
    assert signal.getsignal(signal.SIGTERM) == before


def test_run_ids_have_the_report_format_and_bad_ones_are_refused():
    rid = new_run_id()
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", rid)
    assert RUN_ID_RE.match(rid) and check_run_id(f"{rid}-3") == f"{rid}-3"
    with pytest.raises(DoctestError, match=r"invalid run id 'a/b'"):
        check_run_id("a/b")
    with pytest.raises(DoctestError, match="invalid run id"):
        FakeProvider(Path("/nonexistent"), run_id="-x")


def test_list_vms_decides_stale_kept_and_alive_from_owner_records(tmp_path):
    live = tmp_path / "doctest-live"
    dead = tmp_path / "doctest-dead"
    kept = tmp_path / "doctest-kept"
    other = tmp_path / "not-ours"
    for d in (live, dead, kept, other):
        d.mkdir()
    write_owner(live, live.name)
    write_owner(other, other.name)
    save_owner(dead, Owner(pid=2**22 + 12345, start_time=1, domain=dead.name, created=0.0))
    save_owner(kept, Owner(pid=2**22 + 12345, start_time=1, domain=kept.name, created=0.0, kept=True))
    (tmp_path / "doctest-norecord").mkdir()
    got = {vm.name: (vm.alive, vm.kept, vm.stale) for vm in list_vms(tmp_path)}
    assert got == {"doctest-dead": (False, False, True), "doctest-kept": (False, True, False),
                   "doctest-live": (True, False, False)}
    assert [vm.name for vm in list_vms(tmp_path, prefix="")] == ["doctest-dead", "doctest-kept", "doctest-live",
                                                                 "not-ours"]
