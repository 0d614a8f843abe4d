"""Issue 11, item 9: a cold-booted guest's SSH host key is the one its image build made, not whatever answers.

The build records the key (debootstrap: the tree's `ssh-keygen -A` key; cloud images: a key handed to
cloud-init in the seed); `vm.boot` pins it; the testinfra checks get it as a known_hosts file and enforce it.
The login tests run against a real sshd on 127.0.0.1 (tests/remote_host.py): the right key logs in, another
key is refused, for `LibvirtMachine.connect` and for the declared checks alike. No VM is started here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import paramiko
import pytest
from remote_host import LoopbackSSHD, _free_port, _keygen, sshd_binary

from doctest_runner.checks.pinned import pinned_known_hosts
from doctest_runner.checks.testinfra import _ssh_config, run_checks
from doctest_runner.image.cache import MANIFEST, BuiltImage, host_key_line
from doctest_runner.image.cloud import pinned_key, user_data
from doctest_runner.image.debootstrap import rootfs_host_key
from doctest_runner.image.recipe import load_recipe
from doctest_runner.model import Check, DoctestError, HostInfo
from doctest_runner.vm.machine import LibvirtMachine
from doctest_runner.vm.providers.cold import cold_boot_host_key

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx0ZQz0RMt3xLbhdw3Kz7V7Q2Xlq2a1ZQ0ZQz0RMt3x"

needs_sshd = pytest.mark.skipif(sshd_binary() is None or os.geteuid() != 0,
                                reason="needs root and sshd (apt-get install openssh-server; .ci/setup does)")


def _image(tmp_path: Path, **manifest) -> BuiltImage:
    d = tmp_path / "img"
    d.mkdir(exist_ok=True)
    fields = {"name": "debian-12", "recipe_hash": "abc", "kind": "debootstrap", "distro": "debian",
              "base": "base.qcow2", "user": "tester", **manifest}
    (d / MANIFEST).write_text(json.dumps(fields))
    return BuiltImage.from_dir(d, tmp_path / "id_ed25519")


def test_cold_boot_pins_the_recorded_key(tmp_path):
    image = _image(tmp_path, host_key=KEY + " root@doctest")
    assert image.host_key == KEY  # the comment is dropped
    assert cold_boot_host_key(image) == KEY
    # an image built before keys were recorded: no pin (trust on first use, as before)
    assert cold_boot_host_key(_image(tmp_path)) is None


@pytest.mark.parametrize("junk", ["", "ssh-ed25519", "rm -rf /", "ssh-ed25519 not*base64"])
def test_host_key_line_rejects_junk(junk):
    with pytest.raises(DoctestError):
        host_key_line(junk)


def test_debootstrap_records_the_trees_key(tmp_path):
    root = tmp_path / "root"
    (root / "etc/ssh").mkdir(parents=True)
    subprocess.run(["ssh-keygen", "-A", "-f", str(root)], check=True, capture_output=True)
    pub = (root / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
    assert rootfs_host_key(root) == f"{pub[0]} {pub[1]}"
    (root / "etc/ssh/ssh_host_ed25519_key.pub").unlink()
    with pytest.raises(DoctestError, match="no ed25519 host key"):
        rootfs_host_key(root)


def test_cloud_seed_carries_the_key_and_a_recipe_override_unpins(tmp_path):
    recipe = load_recipe("cloud")
    pair = ("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n", KEY + " root@doctest")
    ud = user_data(recipe, "ssh-ed25519 AAAA test", pair)
    assert ud["ssh_keys"] == {"ed25519_private": pair[0], "ed25519_public": pair[1]}
    assert pinned_key(ud, pair) == KEY
    assert "ssh_keys" not in user_data(recipe, "ssh-ed25519 AAAA test")
    recipe.data["user_data"] = {"ssh_keys": {"ed25519_public": "ssh-ed25519 OTHER"}}
    assert pinned_key(user_data(recipe, "ssh-ed25519 AAAA test", pair), pair) is None


def test_testinfra_config_pins_the_key(tmp_path):
    machine = SimpleNamespace(ssh_host="127.0.0.1", ssh_port=2222, user="tester", key_path=tmp_path / "id",
                              host_key=KEY)
    cfg = paramiko.SSHConfig.from_path(str(_ssh_config(machine, tmp_path))).lookup("guest")
    known = pinned_known_hosts(cfg)
    assert known == str(tmp_path / "known_hosts")
    assert Path(known).read_text() == f"[127.0.0.1]:2222 {KEY}\n"
    machine.host_key = None
    cfg = paramiko.SSHConfig.from_path(str(_ssh_config(machine, tmp_path))).lookup("guest")
    assert pinned_known_hosts(cfg) is None and cfg["stricthostkeychecking"] == "no"


@pytest.fixture
def sshd(tmp_path):
    server = LoopbackSSHD(tmp_path / "sshd", port=_free_port())
    server.start()
    yield server
    server.stop()


def _other_key(tmp_path: Path) -> str:
    _keygen(tmp_path / "impostor")
    return host_key_line((tmp_path / "impostor.pub").read_text())


@needs_sshd
def test_machine_connect_refuses_another_key(tmp_path, sshd):
    real = host_key_line((sshd.workdir / "host_ed25519.pub").read_text())
    machine = LibvirtMachine(name="doctest-pin", ssh_host="127.0.0.1", ssh_port=sshd.port, user="root", key_path=sshd.key,
                      console_log=tmp_path / "c.log", overlay=tmp_path / "o.qcow2", host=HostInfo("tcg", "test"),
                      host_key=real)
    machine.connect(retry_s=0).close()
    machine.host_key = _other_key(tmp_path)
    with pytest.raises(paramiko.BadHostKeyException):
        machine.connect(retry_s=0)


@needs_sshd
def test_checks_refuse_another_key(tmp_path, sshd):
    marker = tmp_path / "marker"
    marker.write_text("pinned\n")
    check = Check(kind="file", target=str(marker), expect={"exists": True})
    real = host_key_line((sshd.workdir / "host_ed25519.pub").read_text())
    for n, (key, ok) in enumerate(((real, True), (_other_key(tmp_path), False))):
        art = tmp_path / f"art{n}"  # a new ssh_config path: testinfra caches hosts by it
        art.mkdir()
        machine = SimpleNamespace(ssh_host="127.0.0.1", ssh_port=sshd.port, user="root", key_path=sshd.key,
                                  host_key=key)
        results = run_checks_fast(machine, [check], art)
        assert results[0].passed is ok, results[0].message
        if not ok:
            assert "BadHostKey" in results[0].message or "does not match" in results[0].message


def run_checks_fast(machine, checks, art):
    """run_checks with the login retry cut short (a refused key is retried like a busy guest)."""
    import doctest_runner.checks.testinfra as ti

    orig = ti._host
    try:
        ti._host = lambda m, a: orig(m, a, connect_timeout=0)
        return run_checks(machine, checks, [], art)
    finally:
        ti._host = orig


@needs_sshd
def test_check_modules_refuse_another_key(tmp_path, sshd):
    """Check modules run in a pytest subprocess: the plugin makes their `paramiko://` host pinned too."""
    from doctest_runner.checks.testinfra import run_modules

    marker = tmp_path / "marker"
    marker.write_text("pinned\n")
    module = tmp_path / "test_guest.py"
    module.write_text(f"def test_marker(host):\n    assert host.file({str(marker)!r}).exists\n")
    real = host_key_line((sshd.workdir / "host_ed25519.pub").read_text())
    outcomes = []
    for n, key in enumerate((real, _other_key(tmp_path))):
        art = tmp_path / f"mod{n}"
        art.mkdir()
        machine = SimpleNamespace(ssh_host="127.0.0.1", ssh_port=sshd.port, user="root", key_path=sshd.key,
                                  host_key=key)
        outcomes.append([(r.passed, r.message) for r in run_modules(machine, [str(module)], art)])
    assert outcomes[0] == [(True, "ok")]
    assert outcomes[1][0][0] is False and "BadHostKey" in outcomes[1][0][1] + (tmp_path / "mod1/checks.log").read_text()
