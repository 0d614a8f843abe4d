"""Host slow paths: who may open /dev/kvm, the udev default, and libvirt's capabilities lookup before/after --fix."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from doctest_runner.vm import hostfix

DEBIAN_RULE = 'KERNEL=="kvm", GROUP="kvm", MODE="0660", OPTIONS+="static_node=kvm"\n'


def test_udev_rule_read_from_rules_text():
    assert hostfix.udev_rule(DEBIAN_RULE) == ("kvm", 0o660)
    assert hostfix.udev_rule('KERNEL=="kvm", GROUP="kvm", MODE="0666"\n') == ("kvm", 0o666)
    assert hostfix.udev_rule("# nothing about kvm\n") == ("kvm", 0o660)


def test_qemu_user_from_conf():
    assert hostfix.qemu_user('#user = "qemu"\n') == "libvirt-qemu"
    assert hostfix.qemu_user('user = "qemu"\ngroup = "kvm"\n') == "qemu"
    assert hostfix.qemu_user('user = "+0"\n') == "+0"


def test_permission_bits_decide_for_the_qemu_user(tmp_path):
    dev = tmp_path / "kvm"
    dev.write_text("")
    os.chmod(dev, 0o600)
    st = dev.stat()
    assert hostfix._user_may_open("root", st)  # root passes whatever the bits
    assert not hostfix._user_may_open("nobody", st)
    os.chmod(dev, 0o666)
    assert hostfix._user_may_open("nobody", dev.stat())
    assert not hostfix._user_may_open("no-such-user-here", dev.stat())


def test_fix_changes_nothing_when_the_user_can_open_it(tmp_path):
    dev = tmp_path / "kvm"
    dev.write_text("")
    os.chmod(dev, 0o666)
    assert hostfix.fix_kvm_device(dev) is None
    assert stat.S_IMODE(dev.stat().st_mode) == 0o666


def test_fix_gives_the_udev_default(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("changing a device's group needs root")
    try:
        import grp

        grp.getgrnam("kvm")
        import pwd

        pwd.getpwnam("libvirt-qemu")
    except KeyError:
        pytest.skip("no kvm group or libvirt-qemu user (libvirt not installed)")
    monkeypatch.setattr(hostfix, "UDEV_CONTROL", tmp_path / "no-udev")
    dev = tmp_path / "kvm"
    dev.write_text("")
    os.chmod(dev, 0o600)
    said = hostfix.fix_kvm_device(dev)
    assert said and "0600 root:root -> 0660 root:kvm" in said
    state = hostfix.kvm_device(dev, user="libvirt-qemu")
    assert (state.mode, state.group, state.qemu_user_ok) == (0o660, "kvm", True)
    assert hostfix.fix_kvm_device(dev) is None  # a second --fix changes nothing


def test_lookup_verdict():
    assert hostfix.lookup_verdict(8.4, 7.9)[0] == "warn"
    assert "re-probes QEMU on every domain start" in hostfix.lookup_verdict(8.4, 7.9)[1]
    assert hostfix.lookup_verdict(8.4, 0.02)[0] == "ok"  # one probe, then the cache holds


@pytest.mark.vm
def test_doctor_fix_makes_capability_lookups_fast():
    """On a host without udev, /dev/kvm back at the kernel's 0600 root:root makes every lookup a QEMU probe;
    after `doctor --fix` two consecutive lookups are a small fraction of the first (a ratio, not a time)."""
    dev = hostfix.KVM_DEVICE
    if not dev.exists() or hostfix.UDEV_CONTROL.exists() or os.geteuid() != 0:
        pytest.skip("needs root, /dev/kvm and no udev managing it")
    from doctest_runner.vm import connect

    before = dev.stat()
    os.chown(dev, 0, 0)
    os.chmod(dev, 0o600)
    try:
        conn = connect()
        try:
            slow = hostfix.capabilities_lookup(conn)
        finally:
            conn.close()
        out = subprocess.run([sys.executable, "-m", "doctest_runner", "doctor", "--fix"],
                             capture_output=True, text=True, timeout=300)
        assert "fix: /dev/kvm 0600 root:root -> 0660 root:kvm" in out.stdout
        conn = connect()
        try:
            fast = [hostfix.capabilities_lookup(conn) for _ in range(2)]
        finally:
            conn.close()
    finally:
        if stat.S_IMODE(dev.stat().st_mode) == 0o600:  # the fix failed: leave the device as we found it
            os.chown(dev, 0, before.st_gid)
            os.chmod(dev, stat.S_IMODE(before.st_mode))
    print(f"capabilities lookup: {slow:.2f} s before --fix, {fast[0]:.3f} s and {fast[1]:.3f} s after")
    assert all(f * 10 < slow for f in fast), (slow, fast)
    assert stat.S_IMODE(dev.stat().st_mode) == 0o660
