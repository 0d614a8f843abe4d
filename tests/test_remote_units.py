"""Remote hosts without a host: URI checks, capacity, acceleration from capabilities, volume names, scheduling."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from doctest_runner.image.cache import BuiltImage
from doctest_runner.model import DoctestError
from doctest_runner.vm.remotehost import (
    DEFAULT_POOL,
    DEFAULT_POOL_DIR,
    Scheduler,
    emulator_path,
    image_volumes,
    parse_host,
    remote_accel,
    slots_for,
)


def caps(features: list[str], domains: list[str]) -> str:
    feats = "".join(f"<feature name='{f}'/>" for f in features)
    doms = "".join(f"<domain type='{d}'/>" for d in domains)
    return (f"<capabilities><host><cpu><arch>x86_64</arch><model>kvm64</model>{feats}</cpu></host>"
            f"<guest><os_type>hvm</os_type><arch name='i686'><emulator>/usr/bin/qemu-system-i386</emulator>"
            f"</arch></guest><guest><os_type>hvm</os_type><arch name='x86_64'>"
            f"<emulator>/opt/qemu/bin/qemu-system-x86_64</emulator>{doms}</arch></guest></capabilities>")


def test_parse_host_full_uri(tmp_path):
    key = tmp_path / "id"
    key.write_text("k")
    spec = parse_host(f"qemu+ssh://ci@build-3.example:2222/system?keyfile={key}&no_verify=1", env={})
    assert (spec.hostname, spec.port, spec.user, spec.keyfile, spec.no_verify) == ("build-3.example", 2222, "ci",
                                                                                    key, True)
    assert (spec.pool, spec.pool_dir) == (DEFAULT_POOL, DEFAULT_POOL_DIR)
    assert spec.label == "ci@build-3.example:2222"
    assert "/" not in spec.key and ":" not in spec.key


def test_parse_host_defaults_and_pool_override():
    spec = parse_host("qemu+ssh://h/system", env={"DOCTEST_RUNNER_REMOTE_POOL": "dr-test"})
    assert spec.port == 22 and spec.keyfile is None and spec.no_verify is False
    assert (spec.pool, spec.pool_dir) == ("dr-test", "/var/lib/libvirt/images/dr-test")
    spec = parse_host("qemu+ssh://h/system?no_verify=0", env={"DOCTEST_RUNNER_REMOTE_POOL_DIR": "/srv/p"})
    assert spec.no_verify is False and spec.pool_dir == "/srv/p"


@pytest.mark.parametrize("uri, why", [
    ("qemu:///system", "expected qemu"),
    ("qemu+tcp://h/system", "expected qemu"),
    ("qemu+ssh:///system", "no host"),
    ("qemu+ssh://h/", "/system"),
    ("qemu+ssh://h:99999/system", "bad port"),
    ("qemu+ssh://h/system?keyfile=/nonexistent/key", "not found"),
])
def test_parse_host_rejects(uri, why):
    with pytest.raises(DoctestError, match=why):
        parse_host(uri, env={})


def test_parse_host_rejects_odd_pool_names():
    with pytest.raises(DoctestError, match="pool"):
        parse_host("qemu+ssh://h/system", env={"DOCTEST_RUNNER_REMOTE_POOL": "x'/><evil"})


@pytest.mark.parametrize("free_mb, cores, mem, expect", [
    (22000, 2, 2048, 2),  # core-bound (this machine)
    (7000, 16, 2048, 2),  # memory-bound: 3 GiB per VM
    (3071, 4, 2048, 0),  # not even one
    (500000, 64, 2048, 8),  # capped
    (20000, 8, 4096, 3),
])
def test_slots_for(free_mb, cores, mem, expect):
    assert slots_for(free_mb, cores, mem) == expect


def test_accel_follows_cpu_flags_and_kvm_domains():
    assert remote_accel(caps([], ["qemu", "kvm"])).accel == "tcg"  # /dev/kvm without vmx/svm hangs guests
    assert "no vmx/svm" in remote_accel(caps([], ["qemu", "kvm"])).why
    h = remote_accel(caps(["svm"], ["qemu", "kvm"]))
    assert (h.accel, h.cpu_mode) == ("kvm", "host-passthrough")
    h = remote_accel(caps(["vmx"], ["qemu"]))
    assert h.accel == "tcg" and "no kvm domains" in h.why and h.cpu_mode == "maximum"


def test_accel_override():
    assert remote_accel(caps(["vmx"], ["qemu", "kvm"]), "tcg").accel == "tcg"
    assert remote_accel(caps([], ["kvm"]), "kvm").accel == "kvm"
    with pytest.raises(DoctestError, match="no kvm domains"):
        remote_accel(caps(["vmx"], ["qemu"]), "kvm")
    with pytest.raises(DoctestError, match="expected kvm or tcg"):
        remote_accel(caps([], ["qemu"]), "xen")


def test_emulator_from_capabilities():
    assert emulator_path(caps([], ["qemu"])) == "/opt/qemu/bin/qemu-system-x86_64"
    with pytest.raises(DoctestError, match="aarch64"):
        emulator_path(caps([], ["qemu"]), "aarch64")


def _image(tmp_path: Path, **kw) -> BuiltImage:
    args = dict(name="debian-12", recipe_hash="0e8bc3036c2a", kind="debootstrap", distro="debian",
                base=tmp_path / "base.qcow2", kernel=None, initrd=None, cmdline="", user="tester",
                key_path=tmp_path / "id", cache_dir=tmp_path)
    args.update(kw)
    return BuiltImage(**args)


def test_volume_names_carry_the_image_hash(tmp_path):
    vols = image_volumes(_image(tmp_path))
    assert vols == {"base": (tmp_path / "base.qcow2", "debian-12-0e8bc3036c2a.base.qcow2")}
    vols = image_volumes(_image(tmp_path, kernel=tmp_path / "k", initrd=tmp_path / "i", seed=tmp_path / "s"))
    assert [v[1] for v in vols.values()] == ["debian-12-0e8bc3036c2a.base.qcow2", "debian-12-0e8bc3036c2a.vmlinuz",
                                             "debian-12-0e8bc3036c2a.initrd.img", "debian-12-0e8bc3036c2a.seed.iso"]
    other = image_volumes(_image(tmp_path, recipe_hash="ffffffffffff"))
    assert other["base"][1] != vols["base"][1]


def test_scheduler_prefers_most_free_and_blocks_when_full():
    s = Scheduler({None: 1, "qemu+ssh://a/system": 2, "qemu+ssh://b/system": 0})
    assert s.total == 3
    first = s.acquire()
    assert first == "qemu+ssh://a/system"  # 2 free beats 1 free
    assert s.acquire() is None  # now a tie (1, 1): the earlier host (local) first
    assert s.acquire() == "qemu+ssh://a/system"
    got: list[str | None] = []
    t = threading.Thread(target=lambda: got.append(s.acquire()))
    t.start()
    t.join(0.3)
    assert t.is_alive() and got == []  # every slot taken: waits
    s.release(None)
    t.join(10)
    assert got == [None]


def test_scheduler_without_room():
    with pytest.raises(DoctestError, match="no host has room"):
        Scheduler({None: 0, "qemu+ssh://a/system": 0})
