"""Unit tests (no VM) for acceleration choice, domain XML and owner records."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from doctest_runner.model import DoctestError
from doctest_runner.vm.accel import choose_accel, cpu_virt_flag
from doctest_runner.vm.domain import QEMU_NS, DomainSpec, disk_sources, domain_xml
from doctest_runner.vm.state import Owner, process_start_time, read_owner, write_owner

CPU_NO_VIRT = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse tsc msr sse sse2 lm\n"
CPU_VMX = "processor\t: 0\nflags\t\t: fpu vme vmx sse2 lm\n"
CPU_SVM = "processor\t: 0\nflags\t\t: fpu svm sse2 lm\n"


@pytest.fixture
def kvm_dev(tmp_path: Path) -> Path:
    dev = tmp_path / "kvm"
    dev.write_text("")
    return dev


def nested(tmp_path: Path, value: str) -> dict[str, Path]:
    p = tmp_path / "nested"
    p.write_text(value + "\n")
    return {"vmx": p, "svm": p}


def test_cpu_flag_parsing():
    assert cpu_virt_flag(CPU_NO_VIRT) is None
    assert cpu_virt_flag(CPU_VMX) == "vmx"
    assert cpu_virt_flag(CPU_SVM) == "svm"
    assert cpu_virt_flag("") is None
    # a flag name inside another word is not the flag
    assert cpu_virt_flag("flags : fpu svmx vmxfoo\n") is None


def test_no_virt_flags_means_tcg_even_with_dev_kvm(tmp_path, kvm_dev):
    info = choose_accel(cpuinfo=CPU_NO_VIRT, kvm_dev=kvm_dev, nested_params=nested(tmp_path, "Y"), env={})
    assert info.accel == "tcg"
    assert info.cpu_mode == "maximum"
    assert "no vmx/svm" in info.why and "exists" in info.why


def test_vmx_and_working_dev_kvm_means_kvm_passthrough_with_nested(tmp_path, kvm_dev):
    info = choose_accel(cpuinfo=CPU_VMX, kvm_dev=kvm_dev, nested_params=nested(tmp_path, "Y"), env={})
    assert (info.accel, info.cpu_mode, info.nested) == ("kvm", "host-passthrough", "Y")
    assert "nested=Y" in info.why


def test_nested_off_is_reported(tmp_path, kvm_dev):
    info = choose_accel(cpuinfo=CPU_SVM, kvm_dev=kvm_dev, nested_params=nested(tmp_path, "0"), env={})
    assert info.accel == "kvm" and info.nested == "0"
    assert "nested virtualization is off" in info.why


def test_flags_but_no_dev_kvm_means_tcg(tmp_path):
    info = choose_accel(cpuinfo=CPU_VMX, kvm_dev=tmp_path / "missing", nested_params=nested(tmp_path, "Y"), env={})
    assert info.accel == "tcg" and "missing" in info.why


def test_override_by_argument_and_environment(tmp_path, kvm_dev):
    n = nested(tmp_path, "Y")
    assert choose_accel("tcg", cpuinfo=CPU_VMX, kvm_dev=kvm_dev, nested_params=n, env={}).accel == "tcg"
    env_info = choose_accel(cpuinfo=CPU_VMX, kvm_dev=kvm_dev, nested_params=n, env={"DOCTEST_RUNNER_ACCEL": "TCG"})
    assert env_info.accel == "tcg" and "DOCTEST_RUNNER_ACCEL" in env_info.why
    forced = choose_accel("kvm", cpuinfo=CPU_NO_VIRT, kvm_dev=kvm_dev, nested_params=n, env={})
    assert forced.accel == "kvm" and "warning" in forced.why
    with pytest.raises(DoctestError, match="missing"):
        choose_accel("kvm", cpuinfo=CPU_VMX, kvm_dev=tmp_path / "nope", nested_params=n, env={})
    with pytest.raises(DoctestError, match="expected kvm or tcg"):
        choose_accel("xen", cpuinfo=CPU_VMX, kvm_dev=kvm_dev, nested_params=n, env={})


def test_accel_on_this_host_matches_its_cpu_flags():
    """Here (no vmx/svm) this must say TCG and why; on a KVM-capable host it must pick KVM."""
    env = {k: v for k, v in os.environ.items() if k != "DOCTEST_RUNNER_ACCEL"}
    info = choose_accel(env=env)
    flag = cpu_virt_flag(Path("/proc/cpuinfo").read_text())
    if flag is None:
        assert info.accel == "tcg"
        assert info.why.startswith("host CPU has no vmx/svm flags")
    elif os.access("/dev/kvm", os.R_OK | os.W_OK):
        assert info.accel == "kvm"


def _spec(tmp_path: Path, **kw) -> DomainSpec:
    base = dict(name="doctest-abc", overlay=tmp_path / "o.qcow2", console_log=tmp_path / "c.log", ssh_port=40022)
    base.update(kw)
    return DomainSpec(**base)


def test_domain_xml_tcg_direct_kernel_boot(tmp_path):
    spec = _spec(tmp_path, kernel=tmp_path / "vmlinuz", initrd=tmp_path / "initrd.img", cmdline="root=/dev/vda rw")
    root = ET.fromstring(domain_xml(spec))
    assert root.get("type") == "qemu"
    assert root.findtext("name") == "doctest-abc"
    assert root.find("memory").text == "2048" and root.find("memory").get("unit") == "MiB"
    assert root.findtext("vcpu") == "2"
    assert root.find("cpu").get("mode") == "maximum"
    assert root.findtext("os/kernel") == str(tmp_path / "vmlinuz")
    assert root.findtext("os/cmdline") == "root=/dev/vda rw"
    assert root.find("os/boot") is None
    assert root.find("features/tcg/tb-cache").text == "512"
    disk = root.find("devices/disk[@device='disk']")
    assert disk.find("source").get("file") == str(tmp_path / "o.qcow2")
    assert disk.find("driver").get("type") == "qcow2"
    assert root.find("devices/serial/source").get("path") == str(tmp_path / "c.log")
    assert root.find("devices/interface") is None  # no libvirt network, no bridge
    args = [a.get("value") for a in root.findall(f"{{{QEMU_NS}}}commandline/{{{QEMU_NS}}}arg")]
    assert args[0] == "-netdev" and args[1] == "user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22"
    assert args[3].startswith("virtio-net-pci,netdev=n0,bus=pci.0,addr=0x1e")
    assert disk_sources(domain_xml(spec)) == [tmp_path / "o.qcow2"]


def test_domain_xml_kvm_disk_boot_with_seed(tmp_path):
    spec = _spec(tmp_path, accel="kvm", cpu_mode="host-passthrough", seed=tmp_path / "seed.iso", memory_mb=1024,
                 vcpus=1)
    root = ET.fromstring(domain_xml(spec))
    assert root.get("type") == "kvm"
    assert root.find("features/tcg") is None
    assert root.find("cpu").get("mode") == "host-passthrough"
    assert root.find("os/boot").get("dev") == "hd" and root.find("os/kernel") is None
    cd = root.find("devices/disk[@device='cdrom']")
    assert cd.find("source").get("file") == str(tmp_path / "seed.iso") and cd.find("readonly") is not None
    assert root.findtext("memory") == "1024" and root.findtext("vcpu") == "1"


def test_domain_xml_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError):
        domain_xml(_spec(tmp_path, accel="xen"))
    with pytest.raises(ValueError):
        domain_xml(_spec(tmp_path, ssh_port=0))


def test_domain_xml_escapes_paths(tmp_path):
    odd = tmp_path / "a&b<c>"
    root = ET.fromstring(domain_xml(_spec(tmp_path, overlay=odd)))
    assert root.find("devices/disk/source").get("file") == str(odd)


def test_owner_record_alive_and_dead(tmp_path):
    me = write_owner(tmp_path, "doctest-x")
    assert me.alive() and me.start_time == process_start_time(os.getpid())
    assert read_owner(tmp_path) == me
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    rec = Owner(pid=child.pid, start_time=process_start_time(child.pid), domain="doctest-y", created=0)
    child.wait()
    assert not rec.alive()
    # same pid but another start time: a reused pid is not the owner
    assert not Owner(pid=os.getpid(), start_time=(me.start_time or 0) + 1, domain="d", created=0).alive()
    (tmp_path / "owner.json").write_text("{broken")
    assert read_owner(tmp_path) is None


def test_reap_stale_removes_only_dead_owners_directories(tmp_path, monkeypatch):
    from doctest_runner.vm import reap_stale
    from doctest_runner.vm.machine import ORPHAN_AGE_S
    from doctest_runner.vm.state import save_owner, vms_dir

    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path))
    root = vms_dir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    dirs = {n: root / n for n in ("doctest-unit-dead", "doctest-unit-live", "doctest-unit-kept", "doctest-unit-orphan",
                                  "doctest-unit-fresh", "other-dead")}
    for d in dirs.values():
        d.mkdir()
    for n in ("doctest-unit-dead", "other-dead"):
        save_owner(dirs[n], Owner(pid=dead.pid, start_time=None, domain=n, created=0))
    write_owner(dirs["doctest-unit-live"], "doctest-unit-live")
    save_owner(dirs["doctest-unit-kept"], Owner(pid=dead.pid, start_time=None, domain="k", created=0, kept=True))
    old = os.stat(dirs["doctest-unit-orphan"]).st_mtime - ORPHAN_AGE_S - 5
    os.utime(dirs["doctest-unit-orphan"], (old, old))
    removed = reap_stale()
    assert sorted(removed) == ["doctest-unit-dead", "doctest-unit-orphan"]
    assert sorted(p.name for p in root.iterdir()) == ["doctest-unit-fresh", "doctest-unit-kept", "doctest-unit-live",
                                                     "other-dead"]
    assert reap_stale(include_kept=True) == ["doctest-unit-kept"]


def test_boot_refuses_a_run_id_in_use_and_leaves_its_directory(tmp_path, monkeypatch):
    from doctest_runner.image.cache import BuiltImage
    from doctest_runner.model import HostInfo
    from doctest_runner.vm import boot
    from doctest_runner.vm.state import vms_dir

    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path))
    other = vms_dir() / "doctest-taken"
    other.mkdir()
    write_owner(other, "doctest-taken")  # a live owner: this very process
    img = BuiltImage(name="x", recipe_hash="0", kind="debootstrap", distro="debian", base=tmp_path / "none.qcow2",
                     kernel=None, initrd=None, cmdline="", user="tester", key_path=tmp_path / "k", cache_dir=tmp_path)
    tcg = HostInfo(accel="tcg", why="test", cpu_mode="maximum")
    with pytest.raises(DoctestError, match="already exists"), boot(img, host=tcg, run_id="taken"):
        pass
    assert (other / "owner.json").exists()
    with pytest.raises(DoctestError, match="invalid run id"), boot(img, host=tcg, run_id="bad id/with slash"):
        pass
    # a base that does not exist fails cleanly and leaves nothing behind
    with pytest.raises(DoctestError, match="qemu-img create failed"):
        with boot(img, host=tcg, run_id="nobase"):
            pass
    assert not (vms_dir() / "doctest-nobase").exists()


def test_domain_xml_has_the_guest_agent_port_unless_turned_off(tmp_path):
    root = ET.fromstring(domain_xml(_spec(tmp_path)))
    chan = root.find("devices/channel")
    assert chan.get("type") == "unix" and chan.find("target").get("name") == "org.qemu.guest_agent.0"
    # no path of ours: libvirt makes a socket per domain, so two clones of one saved machine never share one
    assert chan.find("source").get("mode") == "bind" and chan.find("source").get("path") is None
    assert ET.fromstring(domain_xml(_spec(tmp_path, guest_agent=False))).find("devices/channel") is None
