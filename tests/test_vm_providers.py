"""The cold-boot provider over the lifecycle with a fake libvirt connection (no qemu, no VM): a lost port is
retried with a new one, the domain gets the decided acceleration, the machine is pinned to the image's host key,
and everything is removed afterwards. Plus fresh_machine's pure decision of whether an entry can be restored."""

from __future__ import annotations

import json
import re
from pathlib import Path

import libvirt
import pytest

from doctest_runner.image.cache import BuiltImage
from doctest_runner.model import DoctestError, HostInfo
from doctest_runner.vm import boot
from doctest_runner.vm.fresh import restore_problems
from doctest_runner.vm.providers import cold
from doctest_runner.vm.state import read_owner, vms_dir
from doctest_runner.vm.store import BUILD_VERSION, SavedMachine

TCG = HostInfo(accel="tcg", why="test", cpu_mode="maximum")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0cX3xVb7uJtYk8L2cPq1mW5nR4sT6vY8zA0bC2dE4 root@image"


class FakeDom:
    def __init__(self) -> None:
        self.destroyed = False

    def isActive(self) -> bool:  # noqa: N802 - libvirt's name
        return not self.destroyed

    def destroy(self) -> None:
        self.destroyed = True


class FakeConn:
    """createXML fails with `failures` first (libvirt errors), then starts a FakeDom."""

    def __init__(self, failures: list[str]):
        self.failures = list(failures)
        self.xml: list[str] = []
        self.doms: list[FakeDom] = []
        self.closed = False

    def createXML(self, xml: str, flags: int) -> FakeDom:  # noqa: N802
        self.xml.append(xml)
        if self.failures:
            err = libvirt.libvirtError(self.failures.pop(0))
            err.err = (1, 0, err.args[0], 0, "", "", "", 0, 0)  # what get_error_message() reads
            raise err
        self.doms.append(FakeDom())
        return self.doms[-1]

    def lookupByName(self, name: str) -> FakeDom:  # noqa: N802
        raise libvirt.libvirtError("no domain")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_libvirt(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path / "cache"))
    state: dict = {}

    def prepare(vmdir: Path, backing: Path, workdir, name: str):
        overlay = vmdir / "overlay.qcow2"
        overlay.write_text("overlay")
        return overlay, tmp_path / f"{name}.console.log"

    def install(failures: list[str]) -> FakeConn:
        conn = FakeConn(failures)
        monkeypatch.setattr(cold, "connect", lambda: conn)
        monkeypatch.setattr(cold, "prepare_disk_and_log", prepare)
        monkeypatch.setattr(cold, "reap_stale", lambda: [])
        monkeypatch.setattr(cold.LibvirtMachine, "wait_ssh", lambda self, timeout=180: state.setdefault("ssh", []).append(
            (self.ssh_port, timeout)))
        monkeypatch.setattr("doctest_runner.vm.machine.qemu_pids", lambda name: [])
        return conn

    return install, state


def image(tmp_path: Path) -> BuiltImage:
    return BuiltImage(name="debian-12", recipe_hash="abc", kind="debootstrap", distro="debian",
                      base=tmp_path / "base.qcow2", kernel=tmp_path / "vmlinuz", initrd=tmp_path / "initrd",
                      cmdline="root=/dev/vda quiet", user="tester", key_path=tmp_path / "id", cache_dir=tmp_path,
                      host_key=KEY)


def test_cold_boot_retries_a_lost_port_and_removes_everything_after(tmp_path, fake_libvirt):
    install, state = fake_libvirt
    conn = install(["internal error: could not set up host forwarding rule 'tcp:127.0.0.1:1-:22'"])
    logs: list[str] = []
    with boot(image(tmp_path), host=TCG, run_id="unit-cold", boot_timeout=42, log=logs.append) as m:
        vmdir = vms_dir() / "doctest-unit-cold"
        assert read_owner(vmdir).base == str(tmp_path / "base.qcow2")
        assert len(conn.xml) == 2 and 'type="qemu"' in conn.xml[1]  # tcg: a plain qemu domain
        ports = [re.search(r"hostfwd=tcp:127.0.0.1:(\d+)-:22", x).group(1) for x in conn.xml]
        assert str(m.ssh_port) == ports[1]
        assert "systemd.machine_id=" in conn.xml[1] and "root=/dev/vda quiet" in conn.xml[1]
        assert state["ssh"] == [(m.ssh_port, 42)]
        assert m.host is TCG and m.host_key == KEY and m.restored_from is None
        assert m.name == "doctest-unit-cold" and m.user == "tester"
    assert conn.doms[0].destroyed and not vmdir.exists()
    assert logs[0] == "accel tcg: test" and logs[-1].startswith("doctest-unit-cold: SSH ready after")


def test_cold_boot_other_errors_fail_at_once_and_leave_nothing(tmp_path, fake_libvirt):
    install, _ = fake_libvirt
    conn = install(["unsupported configuration: this QEMU does not support 'vmport'"] * 3)
    with pytest.raises(DoctestError, match=r"libvirt could not start doctest-unit-bad: unsupported configuration"):
        with boot(image(tmp_path), host=TCG, run_id="unit-bad"):
            pass
    assert len(conn.xml) == 1 and conn.closed
    assert not (vms_dir() / "doctest-unit-bad").exists()


def test_cold_boot_keep_leaves_the_vm_marked_kept(tmp_path, fake_libvirt):
    install, _ = fake_libvirt
    conn = install([])
    with boot(image(tmp_path), host=TCG, run_id="unit-keep", keep=True):
        pass
    vmdir = vms_dir() / "doctest-unit-keep"
    assert read_owner(vmdir).kept and not conn.doms[0].destroyed
    assert json.loads((vmdir / "owner.json").read_text())["kept"] is True


def test_restore_problems_name_every_reason_an_entry_cannot_be_restored(tmp_path, monkeypatch):
    monkeypatch.setattr("doctest_runner.vm.fresh.qemu_version", lambda: "QEMU 7.2")
    entry = SavedMachine(path=tmp_path / "missing", chain=[], image="debian-12", recipe_hash="abc",
                         base=str(tmp_path / "base.qcow2"), accel="kvm", memory_mb=2048, vcpus=2, qemu="QEMU 8.0",
                         build=BUILD_VERSION, user="tester", key={}, created=0.0)
    problems = restore_problems(entry, TCG)
    assert "saved under kvm, this run uses tcg" in problems
    assert "saved by another QEMU or build version" in problems
