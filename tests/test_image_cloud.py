"""The cloud-image path: import a qcow2 that has cloud-init, boot it with a seed the harness made, log in."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from doctest_runner.image import build_image
from doctest_runner.vm import boot, connect, decide_host
from doctest_runner.vm.state import qemu_pids, vms_dir

pytestmark = pytest.mark.vm

RECIPE = """\
name: debian-12-cloud-test
extends: cloud
distro: debian
boot: kernel   # a debootstrapped image has no bootloader: take vmlinuz/initrd out of its filesystem
cmdline: root=/dev/vda rw console=ttyS0,115200 net.ifnames=0 mitigations=off
"""


@pytest.fixture(scope="module")
def cloud_image(tmp_path_factory):
    """debian-12-cloudinit (built by our debootstrap code, no user) imported as a cloud image."""
    source = build_image("debian-12-cloudinit", log=lambda m: None).base
    recipe = tmp_path_factory.mktemp("recipe") / "debian-12-cloud-test.yaml"
    recipe.write_text(RECIPE)
    img = build_image(str(recipe), source=source, log=lambda m: None)
    yield img, recipe, source


def test_import_makes_a_seed_and_takes_the_kernel_out(cloud_image):
    img, recipe, source = cloud_image
    assert img.kind == "cloud-image" and img.user == "tester"
    assert img.base != source and img.base.exists()
    assert img.kernel and img.kernel.stat().st_size > 1_000_000 and img.initrd and img.initrd.exists()
    assert img.seed and img.seed.exists()
    label = subprocess.run(["isoinfo", "-d", "-i", str(img.seed)], capture_output=True, text=True).stdout
    if label:  # isoinfo ships with genisoimage
        assert "Volume id: cidata" in label
    user_data = (img.cache_dir / "seed" / "user-data").read_text()
    assert user_data.startswith("#cloud-config\n") and "NOPASSWD:ALL" in user_data
    assert img.key_path.with_suffix(".pub").read_text().split()[1] in user_data
    messages: list[str] = []
    again = build_image(str(recipe), source=source, log=messages.append)
    assert again.cache_dir == img.cache_dir and any("cached" in m for m in messages)


def test_cloud_image_boots_and_cloud_init_creates_the_user(cloud_image, tmp_path):
    img, _, _ = cloud_image
    with boot(img, host=decide_host(), workdir=tmp_path, boot_timeout=600) as m:
        name = m.name
        client = m.connect()
        try:
            _, out, err = client.exec_command(
                "id -un; sudo -n true && echo sudo-ok; hostname; getent hosts $(hostname) >/dev/null && echo resolves;"
                " sudo cat /run/cloud-init/ds-identify.log /var/lib/cloud/instance/datasource 2>/dev/null"
                " | grep -o 'NoCloud' | head -1", timeout=120)
            lines = out.read().decode().split()
            errors = err.read().decode()
        finally:
            client.close()
        assert lines[:4] == ["tester", "sudo-ok", "doctest", "resolves"], errors
        assert "NoCloud" in lines
        assert "unable to resolve host" not in errors
    conn = connect()
    try:
        assert name not in {d.name() for d in conn.listAllDomains()}
    finally:
        conn.close()
    assert not (vms_dir() / name).exists() and qemu_pids(name) == []
    assert Path(tmp_path / f"{name}.console.log").exists()
