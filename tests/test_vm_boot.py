"""Real VMs (TCG here): login, sudo, systemd for the non-root user, nested KVM, and cleanup in every exit path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from doctest_runner.image import build_image
from doctest_runner.model import DoctestError
from doctest_runner.vm import boot, connect, decide_host, new_run_id, reap_stale
from doctest_runner.vm.accel import cpu_virt_flag
from doctest_runner.vm.state import qemu_pids, read_owner, save_owner, vms_dir

pytestmark = pytest.mark.vm
REPO = Path(__file__).resolve().parents[1]


def guest(machine, command: str, user: str | None = None) -> tuple[int, str, str]:
    client = machine.connect(user=user)
    try:
        _, out, err = client.exec_command(command, timeout=60)
        rc = out.channel.recv_exit_status()
        return rc, out.read().decode(), err.read().decode()
    finally:
        client.close()


def domain_names() -> set[str]:
    conn = connect()
    try:
        return {d.name() for d in conn.listAllDomains()}
    finally:
        conn.close()


def assert_gone(name: str) -> None:
    assert name not in domain_names(), f"domain {name} still defined"
    assert not (vms_dir() / name).exists(), f"overlay dir of {name} still there"
    assert qemu_pids(name) == [], f"qemu for {name} still running"


@pytest.fixture(scope="module")
def vm(built_image, tmp_path_factory):
    """One VM shared by the read-only checks below (booting costs ~20 s under TCG)."""
    with boot(built_image, host=decide_host(), workdir=tmp_path_factory.mktemp("vm")) as m:
        yield m


def test_login_as_non_root_user_with_passwordless_sudo(vm):
    rc, out, _ = guest(vm, "id -un; sudo -n id -un")
    assert rc == 0 and out.split() == ["tester", "root"]
    assert vm.user == "tester" and vm.ssh_host == "127.0.0.1"


def test_root_login_with_the_same_key(vm):
    assert guest(vm, "id -u", user="root")[1].strip() == "0"


def test_systemctl_works_for_the_non_root_user(vm):
    rc, out, err = guest(vm, "systemctl is-active ssh; systemctl --user is-system-running || true")
    assert rc == 0 and out.splitlines()[0] == "active", err
    assert "Failed to connect to bus" not in err


def test_hostname_resolves_so_sudo_does_not_warn(vm):
    rc, out, err = guest(vm, "getent hosts $(hostname) && sudo -n true")
    assert rc == 0 and out.strip(), err
    assert "unable to resolve host" not in err and err == ""


def test_guest_gets_dev_kvm(vm):
    rc, out, _ = guest(vm, "test -e /dev/kvm && echo yes; grep -cwE 'svm|vmx' /proc/cpuinfo")
    assert rc == 0 and out.splitlines()[0] == "yes"
    assert int(out.splitlines()[1]) >= 1


def test_accel_choice_is_reported(vm):
    if cpu_virt_flag(Path("/proc/cpuinfo").read_text()) is None and not os.environ.get("DOCTEST_RUNNER_ACCEL"):
        assert vm.host.accel == "tcg" and "no vmx/svm" in vm.host.why
    assert vm.host.accel == "tcg" and "vmx/svm" in vm.host.why


def test_guest_has_network_and_a_per_vm_machine_id(vm, built_image):
    rc, out, _ = guest(vm, "ip -4 -o addr show scope global; cat /etc/machine-id; cat /proc/cmdline")
    assert rc == 0 and "10.0.2.15" in out
    machine_id = out.splitlines()[-2]
    assert f"systemd.machine_id={machine_id}" in out.splitlines()[-1]
    assert vm.console_log.exists() and "login:" in vm.console_log.read_text(errors="replace")


def test_image_cache_hit_is_fast_and_unchanged(built_image):
    mtime = built_image.base.stat().st_mtime_ns
    messages: list[str] = []
    again = build_image("debian-12", log=messages.append)
    assert again.base == built_image.base and again.recipe_hash == built_image.recipe_hash
    assert again.base.stat().st_mtime_ns == mtime
    assert any("cached" in m for m in messages) and not any("building" in m for m in messages)


def test_recipe_change_rebuilds_from_the_cached_rootfs(built_image, tmp_path):
    text = (REPO / "vm_images" / "debian-12.yaml").read_text()
    tweak = tmp_path / "debian-12-tweak.yaml"
    tweak.write_text(text.replace("name: debian-12", "name: debian-12-tweak")
                     .replace("hostname: doctest", f"hostname: tweak{os.getpid()}"))
    messages: list[str] = []
    img = build_image(str(tweak), log=messages.append)
    try:
        assert img.recipe_hash != built_image.recipe_hash
        assert any("building image" in m for m in messages)
        assert any("rootfs" in m and "cached" in m for m in messages), messages  # no second debootstrap
        assert not any(m.startswith("debootstrap ") for m in messages)
        assert img.base.exists() and img.kernel and img.kernel.exists()
        # the change itself is inside the new base
        out = subprocess.run(["debugfs", "-R", "cat /etc/hostname", str(_raw(img.base, tmp_path))],
                             capture_output=True, text=True).stdout
        assert out.strip() == f"tweak{os.getpid()}"
    finally:
        subprocess.run(["rm", "-rf", str(img.cache_dir)])


def _raw(qcow: Path, tmp_path: Path) -> Path:
    raw = tmp_path / "disk.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(qcow), str(raw)], check=True)
    return raw


def test_exception_inside_boot_removes_everything(built_image, tmp_path):
    run_id = new_run_id()
    name = f"doctest-{run_id}"
    handler_before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RuntimeError, match="guide failed"):
        with boot(built_image, host=decide_host(), run_id=run_id, workdir=tmp_path) as m:
            assert name in domain_names() and m.overlay.exists() and qemu_pids(name)
            raise RuntimeError("guide failed")
    assert_gone(name)
    assert signal.getsignal(signal.SIGTERM) is handler_before  # boot restored the caller's handler
    log = tmp_path / f"{name}.console.log"
    assert log.exists() and "systemd" in log.read_text(errors="replace")  # kept as an artifact


def test_boot_timeout_says_so_with_console_tail_and_cleans_up(built_image, tmp_path):
    run_id = new_run_id()
    with pytest.raises(DoctestError) as ei:
        with boot(built_image, host=decide_host(), run_id=run_id, workdir=tmp_path, boot_timeout=4):
            pass
    msg = str(ei.value)
    assert "not reachable over SSH" in msg and "console" in msg
    assert_gone(f"doctest-{run_id}")


CHILD = textwrap.dedent("""
    import sys, time
    from doctest_runner.image import build_image
    from doctest_runner.vm import boot, decide_host
    img = build_image("debian-12", log=lambda m: None)
    with boot(img, host=decide_host(), run_id=sys.argv[1], workdir=sys.argv[2], boot_timeout=600):
        time.sleep(600)
""")


def _child_with_vm(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    """A harness process that has started a VM (domain and qemu up; still booting)."""
    run_id = new_run_id()
    name = f"doctest-{run_id}"
    child = subprocess.Popen([sys.executable, "-c", CHILD, run_id, str(tmp_path)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (name in domain_names() and qemu_pids(name)):
        if child.poll() is not None:
            raise AssertionError(f"child exited early: {child.stderr.read()}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError("child never started its VM")
        time.sleep(0.2)
    return child, name


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_signal_to_the_harness_removes_its_vm(tmp_path, sig):
    child, name = _child_with_vm(tmp_path)
    child.send_signal(sig)
    rc = child.wait(timeout=60)
    if sig == signal.SIGTERM:
        assert rc == 128 + signal.SIGTERM  # turned into SystemExit(143) by boot's handler
    else:
        assert rc != 0 and "KeyboardInterrupt" in child.stderr.read()
    assert_gone(name)


def test_keep_leaves_the_vm_until_reaped_with_include_kept(built_image, tmp_path):
    run_id = new_run_id()
    name = f"doctest-{run_id}"
    with pytest.raises(DoctestError):
        with boot(built_image, host=decide_host(), run_id=run_id, workdir=tmp_path, boot_timeout=3, keep=True):
            pass
    try:
        assert name in domain_names() and (vms_dir() / name / "overlay.qcow2").exists()
        owner = read_owner(vms_dir() / name)
        assert owner is not None and owner.kept
        # pretend the harness that kept it has exited
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        owner.pid, owner.start_time = dead.pid, None
        save_owner(vms_dir() / name, owner)
        assert name not in reap_stale()  # kept on purpose: ordinary reaping leaves it
        assert name in domain_names()
        assert name in reap_stale(include_kept=True)
    finally:
        reap_stale(include_kept=True)
    assert_gone(name)


def test_kill_9_leftovers_are_reaped_by_the_next_run(tmp_path):
    child, name = _child_with_vm(tmp_path)
    child.kill()
    child.wait(timeout=30)
    assert name in domain_names() and (vms_dir() / name).exists()  # what a killed harness leaves
    removed = reap_stale()
    assert name in removed
    assert_gone(name)


def test_reap_stale_leaves_live_owners_alone(built_image, tmp_path):
    child, name = _child_with_vm(tmp_path)
    try:
        assert name not in reap_stale()
        assert name in domain_names()
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    assert_gone(name)
