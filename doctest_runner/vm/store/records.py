"""The records of the store and where they live: saved states and checkpoints (`SavedMachine`), the key of a
saved state (`StateKey`), the three folders, and finding, checking and removing an entry.

Why apart: every other part of the store and the restore provider read these records; they need no libvirt."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from doctest_runner.image import remove_tree
from doctest_runner.paths import cache_root

# Bump when the domain XML (vm/domain.py) or what a saved state contains changes: old states become stale.
BUILD_VERSION = 2  # 2: every domain has the guest agent's port
SAVE_MAGIC = b"LibvirtQemudSave"
HEADER = struct.Struct("<16s5I56s")  # magic, version, data_len, was_running, compressed, cookieOffset, unused
LAYERS_FILE = "layers.json"  # in a VM's directory: the saved layers under its overlay (kept while it runs)

Log = Callable[[str], None]


@dataclass(frozen=True)
class StateKey:
    """Everything a saved booted machine depends on; its hash names the cache entry."""

    image: str
    recipe_hash: str
    qemu: str
    accel: str
    memory_mb: int
    vcpus: int
    build: int = BUILD_VERSION

    def digest(self) -> str:
        raw = json.dumps(asdict(self), sort_keys=True).encode()
        return f"{self.image}-{hashlib.sha256(raw).hexdigest()[:16]}"

    def differences(self, other: dict) -> list[str]:
        """Human-readable fields in which a stored state's key differs from this one."""
        names = {"recipe_hash": "recipe hash", "qemu": "QEMU version", "accel": "accel", "memory_mb": "memory",
                 "vcpus": "vcpus", "build": "domain-XML/build version"}
        mine = asdict(self)
        return [f"{names[k]} {other.get(k)!r} -> {mine[k]!r}" for k in names if other.get(k) != mine[k]]


@dataclass
class SavedMachine:
    """A saved running VM: its memory image plus the disk layers below it (top last)."""

    path: Path  # entry directory (holds memory.sav and meta.json)
    chain: list[str]  # layer file names in <cache>/layers, bottom first
    image: str
    recipe_hash: str
    base: str  # the image base under the bottom layer
    accel: str
    memory_mb: int
    vcpus: int
    qemu: str
    build: int
    user: str
    key: dict = field(default_factory=dict)  # StateKey fields (saved states) or checkpoint key parts
    session_dir: str = ""  # the guide's session directory in the guest (checkpoints)
    steps_done: int = 0  # checkpoints: how many steps of the sequence ran before it
    created: float = 0.0
    ready_seconds: float | None = None  # measured when it was made

    @property
    def memory(self) -> Path:
        return self.path / "memory.sav"

    def top_layer(self) -> Path:
        return layers_dir() / self.chain[-1]

    def touch(self) -> None:
        """Mark as used now (LRU)."""
        with contextlib.suppress(OSError):
            os.utime(self.path / "meta.json")

    def write(self) -> None:
        d = {k: v for k, v in asdict(self).items() if k != "path"}
        tmp = self.path / ".meta.json.tmp"
        tmp.write_text(json.dumps(d, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.path / "meta.json")

    @classmethod
    def load(cls, path: Path) -> SavedMachine | None:
        try:
            d = json.loads((path / "meta.json").read_text())
            return cls(path=path, **d)
        except (OSError, ValueError, TypeError):
            return None

    def problems(self) -> list[str]:
        """Why this entry cannot be restored as it is (missing or corrupt files)."""
        out = []
        try:
            with open(self.memory, "rb") as f:
                head = f.read(HEADER.size)
            if len(head) < HEADER.size or not head.startswith(SAVE_MAGIC):
                out.append(f"{self.memory} is not a libvirt save image")
        except OSError:
            out.append(f"{self.memory} is missing")
        for layer in self.chain:
            if not (layers_dir() / layer).is_file():
                out.append(f"disk layer {layer} is missing")
        if not Path(self.base).is_file():
            out.append(f"image base {self.base} is missing")
        return out


def states_dir() -> Path:
    return _mk(cache_root() / "states")


def checkpoints_dir() -> Path:
    return _mk(cache_root() / "checkpoints")


def layers_dir() -> Path:
    return _mk(cache_root() / "layers")


def _mk(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    return d



def valid_state(d: Path, log: Log) -> SavedMachine | None:
    """The saved state in `d` when it can be restored as it is; a broken one is removed (and the log says why)."""
    entry = SavedMachine.load(d)
    if entry is None:
        return None
    problems = entry.problems()
    if problems:
        log(f"saved state {d.name} is unusable ({'; '.join(problems)}): removed")
        remove_tree(d)
        return None
    return entry


def discard(entry: SavedMachine, log: Log, why: str) -> None:
    """Remove a saved machine that failed to restore, so the next VM does not try it again."""
    log(f"saved machine {entry.path.name} removed: {why}")
    remove_tree(entry.path)


def find(key: str) -> SavedMachine | None:
    """The checkpoint saved under `key` when it can be restored as it is; None otherwise."""
    entry = SavedMachine.load(checkpoints_dir() / key)
    return entry if entry is not None and not entry.problems() else None


def checkpoint_names() -> set[str]:
    return {p.name for p in checkpoints_dir().iterdir() if not p.name.startswith(".")}


def remove(entry: SavedMachine) -> None:
    """Delete a saved machine's entry (its layers go at the next prune once nothing refers to them)."""
    remove_tree(entry.path)
