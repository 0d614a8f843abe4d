"""Unit tests (no VM, no debootstrap) for recipes, hashing, the cache, seeds and partition tables."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import yaml

from doctest_runner.image import build, cache
from doctest_runner.image.cloud import Partition, meta_data, partitions, user_data
from doctest_runner.image.debootstrap import COMMAND_INDEX, _command_index, hosts_file, stage1_key
from doctest_runner.image.recipe import BUILDER_VERSION, load_recipe, recipe_hash
from doctest_runner.model import DoctestError

REPO_RECIPES = Path(__file__).resolve().parents[1] / "vm_images"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shipped_recipes_load():
    for f in sorted(REPO_RECIPES.glob("*.yaml")):
        r = load_recipe(str(f))
        assert r.name == f.stem
    deb = load_recipe("debian-12")
    for pkg in ("systemd", "dbus", "libpam-systemd", "openssh-server", "sudo", "ca-certificates", "curl", "python3",
                "linux-image-amd64"):
        assert pkg in deb.packages
    assert deb.user == "tester" and "console=ttyS0" in deb.get("cmdline")


def test_hash_is_stable_and_changes_with_any_field(tmp_path):
    base = (REPO_RECIPES / "debian-12.yaml").read_text()
    a = load_recipe(str(write(tmp_path, "a.yaml", base)))
    b = load_recipe(str(write(tmp_path, "b.yaml", base)))
    assert a.hash("k") == b.hash("k")  # same content -> same key, wherever the file lives
    c = load_recipe(str(write(tmp_path, "c.yaml", base.replace("hostname: doctest", "hostname: other"))))
    assert c.hash("k") != a.hash("k")
    assert a.hash("k") != a.hash("other-key")  # a new SSH key means a new image
    # key order and comments do not matter
    d = yaml.safe_load(base)
    assert recipe_hash(dict(reversed(list(d.items())))) == recipe_hash(d)
    assert len(BUILDER_VERSION) > 0


def test_stage1_key_ignores_configuration_but_not_packages(tmp_path):
    base = (REPO_RECIPES / "debian-12.yaml").read_text()
    a = load_recipe(str(write(tmp_path, "a.yaml", base)))
    c = load_recipe(str(write(tmp_path, "c.yaml", base.replace("hostname: doctest", "hostname: other"))))
    assert stage1_key(a) == stage1_key(c)  # a configuration tweak reuses the debootstrap tarball
    e = load_recipe(str(write(tmp_path, "e.yaml", base.replace("  - less\n", "  - less\n  - jq\n"))))
    assert stage1_key(e) != stage1_key(a)


def test_extends_merges_and_name_is_not_inherited(tmp_path):
    write(tmp_path, "parent.yaml", "name: parent\nkind: debootstrap\nsuite: bookworm\npackages: [a]\nuser: tester\n")
    child = load_recipe(str(write(tmp_path, "child.yaml", "extends: parent\nextra_packages: [b]\nuser: null\n")))
    assert child.name == "child" and child.get("suite") == "bookworm"
    assert child.packages == ["a", "b"] and child.user is None
    ci = load_recipe("debian-12-cloudinit")
    assert "cloud-init" in ci.packages and ci.user is None and ci.get("network") == "none"


@pytest.mark.parametrize("text, message, line", [
    ("kind: debootstrap\nsuite: bookworm\npackagez: [a]\n", "unknown recipe key 'packagez'", 3),
    ("kind: debootstrap\nsuite: bookworm\npackages: a b\n", "packages: expected list", 3),
    ("kind: vagrant\n", "kind must be one of", 1),
    ("kind: debootstrap\n", "needs `suite`", 1),
    ("kind: debootstrap\nsuite: bookworm\ndisk_size: big\n", "disk_size", 3),
    ("kind: debootstrap\nsuite: [bookworm\n", "invalid YAML", 2),
    ("- just\n- a list\n", "must be a YAML mapping", 1),
    ("kind: debootstrap\nsuite: bookworm\nuser: Bad User\n", "invalid user name", 3),
    ("extends: nothere\nkind: debootstrap\n", "no image recipe named 'nothere'", 1),
])
def test_bad_recipes_give_file_and_line(tmp_path, text, message, line):
    p = write(tmp_path, "bad.yaml", text)
    with pytest.raises(DoctestError) as ei:
        load_recipe(str(p))
    assert message in ei.value.message
    assert ei.value.path == str(p) and ei.value.line == line


def test_extends_cycle_and_unknown_name(tmp_path):
    write(tmp_path, "x.yaml", "extends: y\nkind: debootstrap\nsuite: s\n")
    write(tmp_path, "y.yaml", "extends: x\nkind: debootstrap\nsuite: s\n")
    with pytest.raises(DoctestError, match="cycle"):
        load_recipe(str(tmp_path / "x.yaml"))
    with pytest.raises(DoctestError, match="no image recipe named"):
        load_recipe("no-such-image-recipe")


def test_cloud_source_resolution_and_digest_cache(tmp_path):
    img = write(tmp_path, "disk.img", "not really a disk")
    r = load_recipe(str(write(tmp_path, "c.yaml", "kind: cloud-image\nsource: disk.img\n")))
    assert build.cloud_source(r, None) == img.resolve()  # relative to the recipe file
    with pytest.raises(DoctestError, match="not found"):
        build.cloud_source(r, tmp_path / "missing.img")
    d1 = build.file_digest(img, tmp_path)
    assert d1 == build.file_digest(img, tmp_path)
    assert json.loads((tmp_path / ".source-digests.json").read_text())[str(img.resolve())]["sha256"] == d1
    h1, _ = build.image_key(r, tmp_path, "ssh-ed25519 AAA")
    img.write_text("another disk, another hash")
    h2, _ = build.image_key(r, tmp_path, "ssh-ed25519 AAA")
    assert h1 != h2
    nosrc = load_recipe("cloud")
    with pytest.raises(DoctestError, match="--from"):
        build.cloud_source(nosrc, None)


def test_keypair_is_created_once_and_private(tmp_path):
    k = cache.ensure_keypair(tmp_path)
    assert k.stat().st_mode & 0o077 == 0
    pub = cache.public_key(k)
    assert pub.startswith("ssh-ed25519 ")
    assert cache.ensure_keypair(tmp_path) == k and cache.public_key(k) == pub


def _fake_image(idir: Path, name: str, h: str, recipe: str) -> Path:
    d = idir / f"{name}-{h}"
    d.mkdir()
    (d / "base.qcow2").write_bytes(b"\0" * 4096)
    cache.write_manifest(d, name=name, recipe_hash=h, kind="debootstrap", distro="debian", base="base.qcow2",
                         kernel=None, initrd=None, cmdline="", user="tester", recipe=recipe)
    return d


def test_list_and_prune_keep_current_and_remove_stale(tmp_path):
    idir = tmp_path / "images"
    idir.mkdir()
    key = cache.ensure_keypair(idir)
    recipe = load_recipe("debian-12")
    current_hash = recipe.hash(cache.public_key(key))
    cur = _fake_image(idir, "debian-12", current_hash, str(recipe.path))
    old = _fake_image(idir, "debian-12", "000000000000", str(recipe.path))
    gone = _fake_image(idir, "deleted-recipe", "111111111111", str(tmp_path / "deleted.yaml"))
    (idir / ".tmp-debian-12-x-999999999").mkdir()  # half-built by a dead process
    infos = {i.path: i for i in build.list_images(idir)}
    assert infos[cur].current and not infos[old].current and not infos[gone].current
    assert infos[cur].size >= 4096
    img = cache.BuiltImage.from_dir(cur, key)
    assert img.base == cur / "base.qcow2" and img.kernel is None and img.user == "tester"
    removed = build.prune_images(idir, in_use={}, log=lambda m: None)
    assert set(removed) >= {old, gone}
    assert cur.exists() and not old.exists() and not gone.exists()
    assert not (idir / ".tmp-debian-12-x-999999999").exists()
    build.prune_images(idir, in_use={}, all=True, log=lambda m: None)
    assert not cur.exists()


def test_user_data_and_meta_data():
    r = load_recipe("cloud")
    ud = user_data(r, "ssh-ed25519 AAAA test")
    u = ud["users"][0]
    assert u["name"] == "tester" and "NOPASSWD:ALL" in u["sudo"] and u["ssh_authorized_keys"] == ["ssh-ed25519 AAAA test"]
    assert ud["manage_etc_hosts"] is True and ud["hostname"] == "doctest"
    assert ud["disable_root"] is False and ud["ssh_authorized_keys"] == ["ssh-ed25519 AAAA test"]
    assert meta_data(r, "iid-1") == {"instance-id": "iid-1", "local-hostname": "doctest"}


def test_hosts_file_resolves_hostname():
    text = hosts_file("doctest")
    assert "127.0.1.1\tdoctest" in text and "127.0.0.1\tlocalhost" in text


def _mbr(entries: list[tuple[int, int, int, int]]) -> bytearray:
    b = bytearray(64 * 512)
    for i, (status, ptype, start, count) in enumerate(entries):
        struct.pack_into("<B3sB3sII", b, 446 + 16 * i, status, b"\0\0\0", ptype, b"\0\0\0", start, count)
    b[510:512] = b"\x55\xaa"
    return b


def test_partitions_mbr_gpt_and_bare():
    assert partitions(bytes(64 * 512)) == []  # unpartitioned filesystem: no signature
    mbr = _mbr([(0x80, 0x83, 2048, 4096), (0, 0x82, 8192, 100)])
    assert partitions(bytes(mbr)) == [Partition(1, 2048 * 512, 4096 * 512), Partition(2, 8192 * 512, 100 * 512)]
    bogus = _mbr([(0x37, 0x83, 1, 1)])  # a boot sector that only looks like an MBR
    assert partitions(bytes(bogus)) == []
    gpt = _mbr([(0, 0xEE, 1, 0xFFFFFFFF)])
    gpt[512:520] = b"EFI PART"
    struct.pack_into("<QII", gpt, 512 + 72, 2, 4, 128)
    entry = 2 * 512 + 128  # second entry (first empty)
    gpt[entry:entry + 16] = b"\x01" * 16
    struct.pack_into("<QQ", gpt, entry + 32, 227328, 4194270)
    assert partitions(bytes(gpt)) == [Partition(2, 227328 * 512, (4194270 - 227328 + 1) * 512)]


def test_file_lock_makes_a_second_builder_wait(tmp_path):
    import subprocess
    import sys

    lock, done = tmp_path / "x.lock", tmp_path / "holder-done"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time\n"
        "from pathlib import Path\n"
        "from doctest_runner.image.cache import file_lock\n"
        f"with file_lock(Path({str(lock)!r})):\n"
        "    print('held', flush=True); time.sleep(1)\n"
        f"    Path({str(done)!r}).write_text('x')\n")],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    assert holder.stdout.readline().strip() == "held"
    messages: list[str] = []
    with cache.file_lock(lock, messages.append, "x"):
        assert done.exists()  # we only got the lock after the holder finished its work
    holder.wait()
    assert messages and "waiting for another process" in messages[0]


def test_remove_tree_refuses_nothing_it_should_delete(tmp_path):
    d = tmp_path / "tree"
    (d / "a/b").mkdir(parents=True)
    (d / "a/b/f").write_text("x")
    assert cache.mounts_below(d) == []
    cache.remove_tree(d)
    assert not d.exists()
    cache.remove_tree(d)  # already gone: no error


def test_prune_keeps_a_base_a_live_vm_sits_on(tmp_path, monkeypatch):
    from doctest_runner.vm.state import bases_in_use, vms_dir, write_owner

    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path))
    idir = tmp_path / "images"
    idir.mkdir()
    stale = _fake_image(idir, "debian-12", "0123456789ab", str(REPO_RECIPES / "debian-12.yaml"))
    vmdir = vms_dir() / "doctest-user"
    vmdir.mkdir()
    write_owner(vmdir, "doctest-user", base=stale / "base.qcow2")  # owner: this live process
    messages: list[str] = []
    assert build.prune_images(idir, in_use=bases_in_use(), all=True, log=messages.append) == []
    assert stale.exists() and any("in use by doctest-user" in m for m in messages)
    (vmdir / "owner.json").unlink()
    assert build.prune_images(idir, in_use=bases_in_use(), all=True, log=messages.append) == [stale]


@pytest.mark.parametrize("keep_lists", [True, False])
def test_command_index_is_best_effort_and_leaves_apt_as_it_was(tmp_path, keep_lists):
    # A tree where the second `apt-get update` cannot run (no apt in it; on the mirror here: a Contents file of the
    # wrong size): the image is still built, without the index, and apt's state is what it was without it.
    root = tmp_path / "root"
    lists = root / "var/lib/apt/lists"
    lists.mkdir(parents=True)
    (lists / "lock").write_text("")
    (lists / "deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages").write_text("Package: x\n")
    (lists / "deb.debian.org_debian_dists_trixie_main_Contents-amd64.gz").write_text("partial")
    (root / "etc/apt/apt.conf.d").mkdir(parents=True)
    (root / "usr/share/doctest-runner").mkdir(parents=True)
    (root / COMMAND_INDEX.lstrip("/")).write_text("stale\n")
    said: list[str] = []
    _command_index(root, tmp_path / "build.log", said.append, keep_lists=keep_lists)
    assert len(said) == 1 and said[0].startswith("command index not built (")
    assert "fix proposals will not name the package of a missing command" in said[0]
    assert not (root / COMMAND_INDEX.lstrip("/")).exists()
    assert list((root / "etc/apt/apt.conf.d").iterdir()) == []  # the Contents target is gone again
    left = sorted(p.name for p in lists.iterdir())
    assert left == (["deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages", "lock"] if keep_lists
                    else ["lock"])
