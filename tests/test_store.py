"""The VM store's file layout, without a VM: saved states and checkpoints written as the store writes them (meta.json,
a libvirt save header, layer files) under a temporary cache root, then found, counted, pruned and forgotten."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pytest

from doctest_runner.cli import cache_cmd
from doctest_runner.image import BuiltImage
from doctest_runner.model import DoctestError, HostInfo
from doctest_runner.paths import cache_root
from doctest_runner.vm import store
from doctest_runner.vm.state import vms_dir, write_owner

HOUR = 3600.0


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(root))
    base = root / "images" / "base.qcow2"
    base.parent.mkdir(parents=True)
    base.write_bytes(b"base")
    return root


def layer(name: str, size: int, age: float = 2 * HOUR) -> Path:
    p = store.layers_dir() / name
    p.write_bytes(b"L" * size)
    t = time.time() - age
    os.utime(p, (t, t))
    return p


def saved(kind: str, key: str, chain: list[str], *, mem: int = 8192, used_ago: float = HOUR,
          session_dir: str = "") -> store.SavedMachine:
    """An entry as store.checkpoint / ensure_state leave it: memory.sav (a save header, then the stream) and meta.json,
    whose mtime is its last use."""
    root = store.states_dir() if kind == "state" else store.checkpoints_dir()
    d = root / key
    d.mkdir()
    head = store.HEADER.pack(store.SAVE_MAGIC, 2, 64, 1, 0, 0, b"\0" * 56)
    (d / "memory.sav").write_bytes(head + b"\0" * 64 + b"M" * mem)
    entry = store.SavedMachine(path=d, chain=chain, image="debian-12", recipe_hash="abc",
                               base=str(cache_root() / "images" / "base.qcow2"), accel="tcg", memory_mb=2048,
                               vcpus=2, qemu="QEMU 7.2", build=store.BUILD_VERSION, user="user",
                               session_dir=session_dir)
    entry.write()
    t = time.time() - used_ago
    os.utime(d / "meta.json", (t, t))
    return entry


def alloc(p: Path) -> int:
    return p.stat().st_blocks * 512


def test_layout_is_the_documented_one(cache: Path):
    assert store.states_dir() == cache / "states" and store.checkpoints_dir() == cache / "checkpoints"
    assert store.layers_dir() == cache / "layers" and all(d.is_dir() for d in (cache / "states", cache / "layers"))


def test_find_returns_only_a_checkpoint_that_can_be_restored(cache: Path):
    layer("a.qcow2", 100)
    saved("checkpoint", "good", ["a.qcow2"])
    saved("checkpoint", "no-layer", ["a.qcow2", "gone.qcow2"])
    bad = saved("checkpoint", "not-a-save", ["a.qcow2"])
    bad.memory.write_bytes(b"garbage")
    saved("state", "a-state", ["a.qcow2"])  # a saved state is not a checkpoint
    (store.checkpoints_dir() / "no-meta").mkdir()
    found = store.find("good")
    assert found is not None and found.chain == ["a.qcow2"] and found.path == cache / "checkpoints" / "good"
    assert [store.find(k) for k in ("no-layer", "not-a-save", "a-state", "no-meta", "never")] == [None] * 5
    assert store.checkpoint_names() == {"good", "no-layer", "not-a-save", "no-meta"}


def test_usage_counts_memory_images_and_each_layer_once(cache: Path):
    a, b = layer("a.qcow2", 40_000), layer("b.qcow2", 10_000)
    s = saved("state", "s", ["a.qcow2"])
    c = saved("checkpoint", "c", ["a.qcow2", "b.qcow2"])
    u = store.usage()
    assert sorted((e.kind, e.path.name) for e in u.entries) == [("checkpoint", "c"), ("state", "s")]
    assert u.layers == {"a.qcow2": alloc(a), "b.qcow2": alloc(b)}
    assert u.total == alloc(s.memory) + alloc(c.memory) + alloc(a) + alloc(b) == store.total_size()
    assert u.text(store.parse_size("2G")).startswith(
        f"cache: {store.human(u.total)} of saved machines and checkpoints (2 entries, 2 layers; limit 2.0 GiB")


def test_prune_evicts_least_recently_used_and_unreferenced_old_layers(cache: Path):
    layer("base-state.qcow2", 4096)
    layer("old.qcow2", 4096)
    layer("new.qcow2", 4096)
    young = layer("young-orphan.qcow2", 4096, age=5)  # may belong to a save in progress: kept
    layer("orphan.qcow2", 4096)
    saved("state", "s", ["base-state.qcow2"], used_ago=2 * HOUR)
    saved("checkpoint", "old", ["base-state.qcow2", "old.qcow2"], used_ago=3 * HOUR)
    saved("checkpoint", "new", ["base-state.qcow2", "new.qcow2"], used_ago=HOUR)
    messages: list[str] = []
    keep_two = store.total_size() - alloc(store.checkpoints_dir() / "old" / "memory.sav") - 4096 * 3
    n, freed = store.prune(keep_two, log=messages.append)
    assert n == 1 and [m.split(" (")[0] for m in messages] == ["evicted checkpoint old"]
    assert sorted(p.name for p in store.layers_dir().iterdir()) == [
        "base-state.qcow2", "new.qcow2", "young-orphan.qcow2"]
    assert young.exists() and freed > 0
    assert sorted(e.path.name for e in store.entries()) == ["new", "s"]


def test_prune_removes_what_stands_on_an_image_that_is_gone(cache: Path):
    # `image prune` or a rebuilt recipe removed the base: these can never be restored, whatever the limit
    layer("kept.qcow2", 4096)
    layer("stranded.qcow2", 4096)
    saved("checkpoint", "kept", ["kept.qcow2"])
    gone = saved("checkpoint", "stranded", ["stranded.qcow2"])
    gone.base = str(cache / "images" / "old-image" / "base.qcow2")
    gone.write()
    messages: list[str] = []
    n, freed = store.prune(1 << 40, log=messages.append)
    assert n == 1 and freed > 0
    assert messages == [f"removed checkpoint stranded: its image {gone.base} is gone"]
    assert [e.path.name for e in store.entries()] == ["kept"]
    assert sorted(p.name for p in store.layers_dir().iterdir()) == ["kept.qcow2"]


def test_prune_keeps_the_layers_a_running_vm_stands_on(cache: Path):
    layer("under-vm.qcow2", 4096)
    vmdir = vms_dir() / "doctest-running"
    vmdir.mkdir(parents=True)
    write_owner(vmdir, "doctest-running")  # this process: alive
    (vmdir / store.LAYERS_FILE).write_text('["under-vm.qcow2"]')
    assert store.layers_in_use() == {"under-vm.qcow2"}
    store.prune(0)
    assert (store.layers_dir() / "under-vm.qcow2").exists()
    write_owner(vmdir, "doctest-running", pid=2**22 + 12345)  # no such process: its layers are free
    assert store.layers_in_use() == set()


def test_forget_since_removes_new_checkpoints_and_only_their_layers(cache: Path):
    layer("shared.qcow2", 4096)
    layer("mine.qcow2", 4096)
    saved("checkpoint", "before", ["shared.qcow2"])
    before = store.checkpoint_names()
    saved("checkpoint", "made-by-test", ["shared.qcow2", "mine.qcow2"])
    assert store.forget_since(before) == 1
    assert store.checkpoint_names() == {"before"}
    assert sorted(p.name for p in store.layers_dir().iterdir()) == ["shared.qcow2"]


class NotLibvirt:
    name = "fake-vm"
    restored_from = None


def image() -> BuiltImage:
    images = cache_root() / "images"
    return BuiltImage(name="debian-12", recipe_hash="abc", kind="debootstrap", distro="debian", base=images / "base.qcow2",
                      kernel=None, initrd=None, cmdline="", user="user", key_path=Path("/nonexistent/key"),
                      cache_dir=images)


def test_checkpoint_under_a_saved_key_keeps_that_one_and_marks_it_used(cache: Path):
    layer("a.qcow2", 4096)
    saved("checkpoint", "k1", ["a.qcow2"], used_ago=5 * HOUR)
    meta = store.checkpoints_dir() / "k1" / "meta.json"
    stops: list[str] = []
    done = store.checkpoint(NotLibvirt(), "k1", image=image(), memory_mb=2048, guide="g.md", steps=1,  # type: ignore[arg-type]
                            session_dir="/tmp/s", before_stop=lambda: stops.append("stop"), qemu="QEMU 7.2")
    assert done.how == "kept the one saved before" and not done.stopped and stops == []
    assert done.entry.path.name == "k1" and time.time() - meta.stat().st_mtime < 60


def test_checkpoint_of_a_machine_the_store_cannot_save_is_a_one_line_error(cache: Path):
    with pytest.raises(DoctestError) as err:
        store.checkpoint(NotLibvirt(), "k2", image=image(), memory_mb=2048, guide="g.md", steps=1,  # type: ignore[arg-type]
                         session_dir="/tmp/s", before_stop=lambda: None, qemu="QEMU 7.2")
    assert str(err.value) == "g.md: only a VM of the local libvirt can be checkpointed, not fake-vm"
    assert store.checkpoint_names() == set()  # nothing half-made left behind


def test_restore_of_a_missing_checkpoint_says_so_without_booting(cache: Path):
    with pytest.raises(DoctestError, match="checkpoint nope is missing or cannot be restored"):
        with store.restore("nope", image(), host=HostInfo(accel="tcg", why="test"), run_id="never-booted"):
            pass


def test_cache_command_reports_the_store_total(cache: Path, capsys: pytest.CaptureFixture[str]):
    layer("a.qcow2", 40_000)
    saved("checkpoint", "c", ["a.qcow2"])
    assert cache_cmd.run(argparse.Namespace(action="info", max_size=None)) == 0
    out = capsys.readouterr().out
    assert f"1 saved machine(s), 1 disk layer(s), {store.human(store.total_size())} in all (limit 10.0 GiB)" in out
    assert out.startswith("checkpoint c ")
    with pytest.raises(DoctestError, match="--max-size: bad size 'lots'"):
        cache_cmd.run(argparse.Namespace(action="prune", max_size="lots"))
