"""Taking a save of a running VM (stopped or live) and checkpoints by key; restoring one by key.

Why here: the save lays files out in the store (memory image in the entry, the overlay moved or linked into the
layers), so the store owns it; booting the restored VM is the restore provider's (vm/providers/restore.py)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from doctest_runner.image import BuiltImage, remove_tree
from doctest_runner.model import DoctestError, HostInfo, Machine
from doctest_runner.vm.machine import LibvirtMachine
from doctest_runner.vm.store.records import (
    BUILD_VERSION,
    LAYERS_FILE,
    Log,
    SavedMachine,
    checkpoints_dir,
    find,
    layers_dir,
)
from doctest_runner.vm.store.saveimage import compress_save_image


def _quiet(_msg: str) -> None:
    pass


def save_running(machine: LibvirtMachine, entry_dir: Path, *, chain_below: list[str]) -> list[str]:
    """Save `machine` (it stops), move its overlay into the layers store; returns the entry's layer chain.
    The caller writes the meta; the entry directory's memory.sav is written in place."""
    entry_dir.mkdir(parents=True, exist_ok=True)
    tmp = entry_dir / f".memory.{os.getpid()}.{threading.get_ident()}.tmp"
    machine.domain.save(str(tmp))
    os.replace(tmp, entry_dir / "memory.sav")
    layer = f"{uuid.uuid4().hex}.qcow2"
    shutil.move(str(machine.overlay), str(layers_dir() / layer))
    return [*chain_below, layer]


def checkpoint_running(machine: LibvirtMachine, entry_dir: Path, *, chain_below: list[str]) -> list[str]:
    """Save `machine` without stopping it; returns the entry's layer chain (like save_running).

    An external libvirt snapshot: the guest pauses while its memory goes to entry_dir/memory.sav (a save image,
    restored like any other), its overlay so far becomes a layer (hard-linked into the layers store first, so it
    is the same file), and it resumes on a new overlay above that layer, its SSH sessions untouched. Saves the
    stop, restore, new identity and new login that save_running costs. Raises DoctestError when libvirt
    refuses (the caller falls back to save_running) with nothing left behind."""
    import libvirt  # lazy: optional heavy dependency (the [vm] extra), loaded only when a machine is saved

    entry_dir.mkdir(parents=True, exist_ok=True)
    layer = f"{uuid.uuid4().hex}.qcow2"
    frozen = layers_dir() / layer
    new = machine.overlay.with_name(f"overlay-{layer}")
    tmp = entry_dir / f".memory.{os.getpid()}.{threading.get_ident()}.tmp"
    os.link(machine.overlay, frozen)
    try:
        capacity = machine.domain.blockInfo(str(machine.overlay))[0]
        # -u: the running VM holds the backing file's write lock; the new overlay names the layer, not the VM dir
        res = subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "qcow2", "-b", str(frozen),
                              str(new), str(capacity)], capture_output=True, text=True)
        if res.returncode != 0:
            raise DoctestError(f"qemu-img create failed for {new}: {res.stderr.strip()}")
        xml = (f"<domainsnapshot><name>{layer[:-6]}</name><memory snapshot='external' file='{tmp}'/><disks>"
               f"<disk name='vda' snapshot='external' type='file'><driver type='qcow2'/>"
               f"<source file='{new}'/></disk></disks></domainsnapshot>")
        machine.domain.snapshotCreateXML(xml, libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA
                                       | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT)
    except (libvirt.libvirtError, DoctestError, OSError) as exc:
        frozen.unlink(missing_ok=True)
        new.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
        msg = exc.get_error_message() if isinstance(exc, libvirt.libvirtError) else str(exc)
        raise DoctestError(f"live checkpoint of {machine.name} refused: {(msg or str(exc)).strip()}") from None
    os.replace(tmp, entry_dir / "memory.sav")
    machine.overlay = new
    chain = [*chain_below, layer]
    if machine.vmdir is not None:  # prune must keep the layers a running VM stands on
        (machine.vmdir / LAYERS_FILE).write_text(json.dumps(chain))
    return chain


def live_checkpoints() -> bool:
    """Whether checkpoints are taken live (DOCTEST_RUNNER_LIVE_CHECKPOINT=0 turns it off: always stopped)."""
    return os.environ.get("DOCTEST_RUNNER_LIVE_CHECKPOINT", "1") != "0"


@dataclass
class Checkpointed:
    """What `checkpoint` did: the entry under the key, and how it came to be there."""

    entry: SavedMachine
    how: str  # "live" (the VM goes on), "stopped" (the VM was stopped by the save), "kept the one saved before"

    @property
    def stopped(self) -> bool:
        """The machine is gone: the caller goes on in a VM restored from `entry`."""
        return self.how == "stopped"


def checkpoint(machine: Machine, key: str, *, image: BuiltImage, memory_mb: int, guide: str, steps: int,
               session_dir: str, before_stop: Callable[[], None], qemu: str,
               log: Log = _quiet) -> Checkpointed:
    """Save `machine` under `key` (a checkpoint after `steps` steps of `guide`). A checkpoint already saved
    under the key is the same machine: that one is kept and marked used. Else the VM is saved live and goes on
    standing on the new layer; where libvirt refuses that, `before_stop()` runs (close the sessions) and it is
    saved stopped (`Checkpointed.stopped`: the caller goes on in a VM restored from the entry)."""
    entry = find(key)
    if entry is not None:
        entry.touch()
        return Checkpointed(entry, "kept the one saved before")
    if not isinstance(machine, LibvirtMachine):
        raise DoctestError(f"{guide}: only a VM of the local libvirt can be checkpointed, not {machine.name}")
    below = list(machine.restored_from.chain) if isinstance(machine.restored_from, SavedMachine) else []
    work = Path(tempfile.mkdtemp(prefix=".ckpt-", dir=checkpoints_dir()))
    try:
        try:
            if not live_checkpoints():
                raise DoctestError("live checkpoints are off (DOCTEST_RUNNER_LIVE_CHECKPOINT=0)")
            chain = checkpoint_running(machine, work, chain_below=below)
            how = "live"
        except DoctestError as exc:
            log(f"{guide}: {exc}; saving it stopped instead")
            before_stop()
            chain = save_running(machine, work, chain_below=below)
            how = "stopped"
        made = SavedMachine(path=work, chain=chain, image=image.name, recipe_hash=image.recipe_hash,
                            base=str(image.base), accel=machine.host.accel, memory_mb=memory_mb, vcpus=2,
                            qemu=qemu, build=BUILD_VERSION, user=image.user, key={"guide": guide, "steps": steps},
                            session_dir=session_dir, steps_done=steps, created=time.time())
        made.write()
        entry = _publish(work, key, made)
    except BaseException:
        remove_tree(work)
        raise
    if how == "live":
        machine.restored_from = entry  # the running VM now stands on this checkpoint's layers
    return Checkpointed(entry, how)


def _publish(work: Path, key: str, made: SavedMachine) -> SavedMachine:
    """Move a finished entry under its key; when another guide saved the same key meanwhile, that one wins."""
    dest = checkpoints_dir() / key
    try:
        os.rename(work, dest)
        made.path = dest
        return made
    except OSError:
        remove_tree(work)
        entry = find(key)
        if entry is None:
            raise DoctestError(f"checkpoint {key} vanished") from None
        return entry


@contextlib.contextmanager
def restore(key: str, image: BuiltImage, *, host: HostInfo, run_id: str, workdir: Path | None = None,
            memory_mb: int = 2048, boot_timeout: float = 300, keep: bool = False,
            log: Log = _quiet) -> Iterator[LibvirtMachine]:
    """A running VM restored from the checkpoint saved under `key` (never a cold boot: DoctestError when it
    cannot be restored). `machine.restored_from` is the entry, with its `session_dir`."""
    # lazy: the restore provider imports this store for its records, so the store reaches it at call time
    from doctest_runner.vm.fresh import fresh_machine

    entry = find(key)
    if entry is None:
        raise DoctestError(f"checkpoint {key} is missing or cannot be restored")
    with fresh_machine(image, host=host, run_id=run_id, workdir=workdir, memory_mb=memory_mb,
                       boot_timeout=boot_timeout, keep=keep, start_from=entry, log=log) as machine:
        if machine.restored_from is not entry:
            raise DoctestError(f"could not restore checkpoint {key}")
        yield machine


def compact(entry: SavedMachine, log: Log = _quiet) -> int:
    """Compress a checkpoint's memory image in place (libvirt restores it as it is); the bytes it saved.

    For the checkpoints a run keeps (a guide's last good one): written once, restored seldom (--resume, a shared
    prefix, a fix trial), kept for days. The replace is atomic, so a restore reading the old file meanwhile is
    unaffected. A failure leaves the entry as it was."""
    mem = entry.memory
    tmp = mem.with_name(f".memory.{os.getpid()}.{threading.get_ident()}.gz.tmp")
    try:
        before = mem.stat().st_size
        if not compress_save_image(mem, tmp):
            return 0
        after = tmp.stat().st_size
        os.replace(tmp, mem)
    except (OSError, DoctestError) as exc:
        tmp.unlink(missing_ok=True)
        log(f"checkpoint {entry.path.name} not compressed: {exc}")
        return 0
    return before - after
