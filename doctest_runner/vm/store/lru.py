"""The store as a size-limited LRU cache: what it holds, what it takes on disk, and pruning it to a limit.

Why here: the limit counts memory images and the layers they share (each once), and must never free a layer a
running VM stands on; one module decides that for `run`, `cache info|prune` and `doctor`."""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from doctest_runner.image import file_lock, remove_tree
from doctest_runner.vm.state import read_owner, vms_dir
from doctest_runner.vm.store.records import (
    LAYERS_FILE,
    Log,
    checkpoint_names,
    checkpoints_dir,
    layers_dir,
    states_dir,
)

DEFAULT_MAX_SIZE = 10 * 1024**3  # fits a CI runner's disk beside the images; `doctor` warns when it does not


def _quiet(_msg: str) -> None:
    pass


def parse_size(text: str) -> int:
    """'20G', '500M', '1.5GiB', '123' (bytes) -> bytes."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.I)
    if not m:
        raise ValueError(f"bad size {text!r} (e.g. 20G, 500M)")
    mult = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[m.group(2).upper()]
    return int(float(m.group(1)) * mult)


def human(n: float) -> str:
    """Bytes as `512 B`, `1.5 MiB`, `12.0 GiB` (GiB is the largest unit: cache sizes stay comparable)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def layers_in_use() -> set[str]:
    """Layer files under running VMs (never removed by prune)."""
    used: set[str] = set()
    for d in vms_dir().iterdir() if vms_dir().is_dir() else []:
        f = d / LAYERS_FILE
        owner = read_owner(d)
        if f.is_file() and owner is not None and (owner.kept or owner.alive()):
            with contextlib.suppress(OSError, ValueError):
                used.update(json.loads(f.read_text()))
    return used



@dataclass
class Entry:
    """A saved state or checkpoint as the cache sees it."""

    kind: str  # "state" | "checkpoint"
    path: Path
    size: int  # bytes of its memory image (layers are counted separately: they are shared)
    last_used: float
    chain: list[str]
    base: str = ""  # the image's base.qcow2 it stands on ("" unknown)

    @property
    def orphaned(self) -> bool:
        """Its image was rebuilt or pruned: it can never be restored again, whatever the cache limit."""
        return bool(self.base) and not Path(self.base).exists()


def _alloc(p: Path) -> int:
    """Bytes a file takes on disk (sparse images count what is allocated)."""
    try:
        return p.stat().st_blocks * 512
    except OSError:
        return 0


def entries() -> list[Entry]:
    out = []
    for kind, root in (("state", states_dir()), ("checkpoint", checkpoints_dir())):
        for d in sorted(root.iterdir()):
            meta = d / "meta.json"
            if not d.is_dir() or not meta.is_file():
                continue
            try:
                data = json.loads(meta.read_text())
                chain = list(data.get("chain", []))
                base = str(data.get("base") or "")
                used = meta.stat().st_mtime
            except (OSError, ValueError, AttributeError, TypeError):
                continue
            out.append(Entry(kind=kind, path=d, size=_alloc(d / "memory.sav"), last_used=used, chain=chain,
                             base=base))
    return out


def layer_sizes() -> dict[str, int]:
    return {p.name: _alloc(p) for p in layers_dir().glob("*.qcow2")}


def total_size(ents: list[Entry] | None = None, layers: dict[str, int] | None = None) -> int:
    """Bytes of memory images plus every layer file (shared layers once)."""
    ents = entries() if ents is None else ents
    layers = layer_sizes() if layers is None else layers
    return sum(e.size for e in ents) + sum(layers.values())


@dataclass
class Usage:
    """The store as the cache limit sees it, read once (for `cache info`, run summaries and `doctor`)."""

    entries: list[Entry]
    layers: dict[str, int]

    @property
    def total(self) -> int:
        return total_size(self.entries, self.layers)

    def text(self, max_size: int | None = None) -> str:
        """`cache: 1.2 GiB of saved machines and checkpoints (3 entries, 9 layers; limit 10.0 GiB, ...)`."""
        limit = DEFAULT_MAX_SIZE if max_size is None else max_size
        return (f"cache: {human(self.total)} of saved machines and checkpoints ({len(self.entries)} entries, "
                f"{len(self.layers)} layers; limit {human(limit)}, `doctest-runner cache info`)")


def usage() -> Usage:
    return Usage(entries(), layer_sizes())


def plan_eviction(ents: list[Entry], layers: dict[str, int], in_use: set[str], max_size: int) -> list[Entry]:
    """Least recently used first, evict entries until memory images plus the layers still referenced fit
    `max_size` (pure: unit-tested). Layers under running VMs always count and are never freed."""
    keep = sorted(ents, key=lambda e: e.last_used)
    evicted: list[Entry] = []

    def size(cur: list[Entry]) -> int:
        needed = set(in_use)
        for e in cur:
            needed.update(e.chain)
        return sum(e.size for e in cur) + sum(layers.get(name, 0) for name in needed)

    while keep and size(keep) > max_size:
        evicted.append(keep.pop(0))
    return evicted


def prune(max_size: int = DEFAULT_MAX_SIZE, log: Log = _quiet) -> tuple[int, int]:
    """Remove saved machines whose image is gone, evict LRU ones over `max_size`, then delete layers nothing
    refers to. Returns (entries removed, bytes freed)."""
    with file_lock(states_dir() / ".locks" / "prune.lock"):
        before = total_size()
        ents = entries()
        orphans = [e for e in ents if e.orphaned]
        for e in orphans:
            log(f"removed {e.kind} {e.path.name}: its image {e.base} is gone")
            remove_tree(e.path)
        ents = [e for e in ents if e not in orphans]
        layers = layer_sizes()
        in_use = layers_in_use()
        gone = plan_eviction(ents, layers, in_use, max_size)
        for e in gone:
            used = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.last_used))
            log(f"evicted {e.kind} {e.path.name} (last used {used})")
            remove_tree(e.path)
        needed = set(in_use)
        for e in entries():
            needed.update(e.chain)
        now = time.time()
        for name in layers:
            p = layers_dir() / name
            # a layer younger than a minute may belong to a save in progress
            if name not in needed and now - p.stat().st_mtime > 60:
                p.unlink(missing_ok=True)
        return len(orphans) + len(gone), max(0, before - total_size())


def forget_since(before: set[str]) -> int:
    """Remove the checkpoints made since `checkpoint_names()` returned `before`, and the layers only they used
    (tests and benchmarks clean up after themselves this way). Returns how many went."""
    gone = checkpoint_names() - before
    for name in gone:
        remove_tree(checkpoints_dir() / name)
    prune(max_size=1 << 62)  # evicts nothing; deletes layers no saved machine refers to any more
    return len(gone)
