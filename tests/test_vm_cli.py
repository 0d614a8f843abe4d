"""`doctor`, `image` and `shell` commands through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from doctest_runner.cli import main
from doctest_runner.image import cache, load_recipe
from doctest_runner.vm.accel import cpu_virt_flag

REPO = Path(__file__).resolve().parents[1]


def test_doctor_json_says_what_will_be_used(capsys):
    rc = main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    names = {c["name"]: c for c in report["checks"]}
    for name in ("/dev/kvm", "cpu virtualization", "nested", "libvirt", "qemu", "qemu-img", "debootstrap", "memory",
                 "disk", "libvirtd", "virtlogd", "stale VMs"):
        assert name in names
    assert rc == (0 if report["ok"] else 1)
    if cpu_virt_flag(Path("/proc/cpuinfo").read_text()) is None:
        assert report["use"]["accel"] == "tcg" and "no vmx/svm" in report["use"]["why"]


def test_doctor_text_output_and_failure_exit(monkeypatch, capsys):
    main(["doctor"])
    out = capsys.readouterr().out
    assert "will use:" in out
    monkeypatch.setenv("PATH", "/nonexistent")  # no qemu, no qemu-img, no debootstrap: a run is impossible
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  qemu-img" in out and "a run is not possible" in out


def test_image_list_and_prune_on_a_cache(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path))
    idir = tmp_path / "images"
    idir.mkdir()
    key = cache.ensure_keypair(idir)
    recipe = load_recipe("debian-12")
    for h in (recipe.hash(cache.public_key(key)), "deadbeef0000"):
        d = idir / f"debian-12-{h}"
        d.mkdir()
        (d / "base.qcow2").write_bytes(b"\0" * 8192)
        cache.write_manifest(d, name="debian-12", recipe_hash=h, kind="debootstrap", distro="debian",
                             base="base.qcow2", user="tester", recipe=str(recipe.path))
    assert main(["image", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["current"] for r in rows) == [False, True]
    assert main(["image", "list"]) == 0
    text = capsys.readouterr().out
    assert "current" in text and "stale" in text and "deadbeef0000" in text
    assert main(["image", "prune"]) == 0
    capsys.readouterr()
    assert not (idir / "debian-12-deadbeef0000").exists()
    assert main(["image", "list", "--json"]) == 0
    assert [r["current"] for r in json.loads(capsys.readouterr().out)] == [True]


def test_image_errors_are_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path))
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: debootstrap\nsuite: bookworm\nmirorr: x\n")
    for argv, expect in ((["image", "build", "no-such-recipe"], "no image recipe named"),
                         (["image", "build", str(bad)], f"{bad}:3: unknown recipe key 'mirorr'"),
                         (["image", "build", "cloud"], "--from FILE")):
        res = subprocess.run([sys.executable, "-m", "doctest_runner", *argv], cwd=REPO, capture_output=True, text=True)
        assert res.returncode == 2, res.stderr
        assert expect in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.vm
def test_shell_restores_the_saved_machine_logs_in_as_the_guide_user_and_removes_the_vm(built_image):
    res = subprocess.run([sys.executable, "-m", "doctest_runner", "shell"], cwd=REPO, capture_output=True, text=True,
                         input="id -un; sudo -n true && echo sudo-ok; exit 7\n", timeout=900)
    assert res.returncode == 7, res.stderr
    assert res.stdout.split()[-2:] == ["tester", "sudo-ok"]
    # the same start as a run's guides: the saved booted machine restored (saved on first use), not a cold boot
    assert ": restored from " in res.stderr and "cold boot" not in res.stderr, res.stderr
    name = next(w.rstrip(":") for w in res.stderr.split() if w.startswith("doctest-") and w.endswith(":"))
    virsh = subprocess.run(["virsh", "list", "--all", "--name"], capture_output=True, text=True).stdout.split()
    assert name not in virsh
