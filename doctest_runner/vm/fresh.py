"""A fresh machine for a guide: restored from a checkpoint or the image's saved booted state when it can be,
else a cold boot, and the log says why. The one public way run/ and cli/ get a local machine.

Why here and not in a provider: choosing between providers (and making the saved state the restore provider
starts from, with one cold boot) is policy over them, not a way of getting a machine.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from doctest_runner.image import BuiltImage, file_lock, remove_tree
from doctest_runner.model import DoctestError, HostInfo
from doctest_runner.vm import agent, hostkeys
from doctest_runner.vm.accel import qemu_version
from doctest_runner.vm.lifecycle import Log
from doctest_runner.vm.machine import LibvirtMachine, guest_run
from doctest_runner.vm.providers.cold import boot
from doctest_runner.vm.providers.restore import RestoreError, restore
from doctest_runner.vm.store import (
    BUILD_VERSION,
    SavedMachine,
    StateKey,
    discard,
    save_running,
    states_dir,
    valid_state,
)


def _quiet(_msg: str) -> None:
    pass


SETTLE = "timeout 90 systemctl is-system-running --wait >/dev/null 2>&1"
# Quiet: no login session left closing (the boot's SSH check) and no idle udev worker left for udevd to end
# (it does so a few seconds after boot's last event). Saved before that, both happened again in every restored
# VM, beside its identity refresh and the guide's first steps (measured: identity 0.8-1.0 s, after 0.4-0.6 s).
QUIET = ("for i in $(seq 50); do [ -z \"$(loginctl --no-legend list-sessions 2>/dev/null)\" ] && "
         "! pgrep -x '(udev-worker)' >/dev/null && break; sleep 0.2; done")


def settle(machine: LibvirtMachine) -> None:
    """Let boot-time jobs finish before the booted machine is saved, so every restored VM starts from the same
    quiet machine (QUIET). Through the guest agent when the image has one: then no root login is open at the save
    (its session and root's `systemd --user` would be torn down in every restored VM)."""
    try:
        agent.run_script(machine.domain, f"{SETTLE}; {QUIET}; sync\n", timeout=120)
    except agent.AgentUnavailable:
        with contextlib.suppress(Exception):
            guest_run(machine, f"{SETTLE}; sync", timeout=120)


def ensure_state(image: BuiltImage, *, host: HostInfo, memory_mb: int = 2048, vcpus: int = 2,
                 boot_timeout: float = 300, log: Log = _quiet) -> SavedMachine:
    """The saved booted machine for this image/qemu/accel/memory, made now (one cold boot + save) if missing.
    Stale states of the same image (other recipe hash, qemu, build version) are removed, and the log says why."""
    hostkeys.refill_in_background()  # the first restores of the run find their host keys ready
    key = StateKey(image.name, image.recipe_hash, qemu_version(), host.accel, memory_mb, vcpus)
    d = states_dir() / key.digest()
    hit = valid_state(d, log)
    if hit is not None:
        return hit
    with file_lock(states_dir() / ".locks" / f"{key.digest()}.lock", log=log, what=f"saved state {key.digest()}"):
        hit = valid_state(d, log)
        if hit is not None:
            return hit
        why = "none yet"
        for other in sorted(states_dir().glob(f"{image.name}-*")):
            old = SavedMachine.load(other)
            if old is None or other == d:
                continue
            diff = key.differences(old.key)
            if any(x.split()[0] in ("recipe", "QEMU", "domain-XML/build") for x in diff):
                log(f"saved state {other.name} is stale ({'; '.join(diff)}): removed")
                remove_tree(other)
                why = "the old one is stale"
        log(f"saving a booted {image.name} machine ({why}): one cold boot, then every VM restores it")
        remove_tree(d)
        work = Path(tempfile.mkdtemp(prefix="state-", dir=states_dir()))
        t0 = time.monotonic()
        try:
            with boot(image, host=host, run_id=f"state-{uuid.uuid4().hex[:12]}", workdir=work,
                      memory_mb=memory_mb, vcpus=vcpus, boot_timeout=boot_timeout) as m:
                settle(m)
                chain = save_running(m, work, chain_below=[])
            entry = SavedMachine(path=work, chain=chain, image=image.name, recipe_hash=image.recipe_hash,
                                 base=str(image.base), accel=host.accel, memory_mb=memory_mb, vcpus=vcpus,
                                 qemu=key.qemu, build=BUILD_VERSION, user=image.user, key=asdict(key),
                                 created=time.time())
            for p in work.glob("*.console.log"):
                p.unlink()
            entry.write()
            os.replace(work, d)
            entry.path = d
        except BaseException:
            remove_tree(work)
            raise
        log(f"saved state {d.name} in {time.monotonic() - t0:.0f} s")
        return entry


def restore_problems(entry: SavedMachine, host: HostInfo) -> list[str]:
    """Why `entry` cannot be restored on this host (empty: it can)."""
    problems = entry.problems()
    if entry.accel != host.accel:
        problems.append(f"saved under {entry.accel}, this run uses {host.accel}")
    if entry.qemu != qemu_version() or entry.build != BUILD_VERSION:
        problems.append("saved by another QEMU or build version")
    return problems


@contextlib.contextmanager
def fresh_machine(image: BuiltImage, *, host: HostInfo, run_id: str, workdir: Path | None = None,
                  memory_mb: int = 2048, vcpus: int = 2, boot_timeout: float = 300, keep: bool = False,
                  fast: bool = True, start_from: SavedMachine | None = None,
                  log: Log = _quiet) -> Iterator[LibvirtMachine]:
    """A fresh VM: restored from `start_from` (a checkpoint) or the image's saved state when `fast`, else (or
    when that fails, which the log says) a cold boot. The machine's `restored_from` names what it came from."""
    entry = start_from
    if entry is None and fast:
        try:
            entry = ensure_state(image, host=host, memory_mb=memory_mb, vcpus=vcpus, boot_timeout=boot_timeout,
                                 log=log)
        except DoctestError as exc:
            log(f"no saved state ({exc}): cold boot")
    if entry is not None:
        problems = restore_problems(entry, host)
        if problems:
            log(f"cannot restore {entry.path.name} ({'; '.join(problems)}): cold boot")
            entry = None
    with contextlib.ExitStack() as stack:
        machine = None
        if entry is not None:
            try:
                machine = stack.enter_context(restore(entry, image, run_id=run_id, workdir=workdir,
                                                      ssh_timeout=min(boot_timeout, 90), keep=keep, log=log))
            except RestoreError as exc:
                log(f"restore of {entry.path.name} failed ({exc}): cold boot instead")
                if start_from is None:
                    discard(entry, log, str(exc))
        if machine is None:
            machine = stack.enter_context(boot(image, host=host, run_id=run_id, workdir=workdir,
                                               memory_mb=memory_mb, vcpus=vcpus, boot_timeout=boot_timeout,
                                               keep=keep, log=None))
        yield machine
