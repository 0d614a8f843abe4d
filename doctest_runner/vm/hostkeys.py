"""New SSH host keys for restored clones, generated ahead of time.

A restored VM is a clone of a saved machine, so it needs its own host keys before anyone logs in. Generating
them at restore time put `ssh-keygen -t rsa -b 3072` (0.5-4 s here, longer on a busy runner) on the path to
"ready", although qemu loads the memory image in about half a second. So the keys come from a small pool in
the cache (`hostkeys/`): a restore takes one set (a rename, so two VMs can never get the same set) and the pool
is refilled in the background while the guide runs. When the pool is empty the set is generated on the spot,
as before. The sets are secrets of this cache: files 0600 in folders 0700, never printed, and each set is used
once and then deleted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

from doctest_runner.paths import cache_root

KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (("ed25519", ()), ("ecdsa", ("-b", "256")), ("rsa", ("-b", "3072")))
POOL_SIZE = 4  # sets kept ready: a run restores `--jobs` VMs at once (the default 2), plus the next ones
STALE_PARTIAL_S = 600  # a half-written set older than this was left by a process that died while writing it

Keys = dict[str, tuple[str, str]]  # kind -> (private key text, public key line)

_refill_lock = threading.Lock()


class KeygenError(Exception):
    """ssh-keygen failed (its message, one line)."""


def pool_dir(root: Path | None = None) -> Path:
    return (root or cache_root()) / "hostkeys"


def generate(workdir: Path) -> Keys:
    """One set of host keys of every kind the images have, made with the host's ssh-keygen in `workdir`."""
    keys: Keys = {}
    for kind, bits in KINDS:
        p = workdir / f"ssh_host_{kind}_key"
        p.unlink(missing_ok=True)
        res = subprocess.run(["ssh-keygen", "-q", "-t", kind, *bits, "-N", "", "-C", "root@doctest", "-f", str(p)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise KeygenError(f"ssh-keygen failed: {res.stderr.strip()}")
        keys[kind] = (p.read_text(), p.with_suffix(".pub").read_text())
        p.unlink()
        p.with_suffix(".pub").unlink()
    return keys


def _read_set(d: Path) -> Keys | None:
    try:
        return {kind: ((d / kind).read_text(), (d / f"{kind}.pub").read_text()) for kind, _ in KINDS}
    except OSError:
        return None


def _ready_sets(pool: Path) -> list[Path]:
    try:
        return sorted(p for p in pool.iterdir() if p.name.startswith("set-") and p.is_dir())
    except FileNotFoundError:
        return []


def take(claim_dir: Path, root: Path | None = None) -> Keys | None:
    """A ready set from the pool, or None when it is empty. The set is moved into `claim_dir` first (an atomic
    rename: of two restores racing for one set, one gets it), read, and deleted."""
    pool = pool_dir(root)
    for d in _ready_sets(pool):
        mine = claim_dir / f".hostkeys-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(d, mine)
        except OSError:  # another restore took it first
            continue
        try:
            keys = _read_set(mine)
        finally:
            shutil.rmtree(mine, ignore_errors=True)
        if keys is not None:
            return keys
    return None


def add_set(root: Path | None = None) -> Path:
    """Generate one set into the pool: written under a `tmp-` name, renamed to `set-` only when complete."""
    pool = pool_dir(root)
    pool.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(pool, 0o700)
    tmp = pool / f"tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir(mode=0o700)
    try:
        keys = generate(tmp)
        for kind, (priv, pub) in keys.items():
            fd = os.open(tmp / kind, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(priv)
            (tmp / f"{kind}.pub").write_text(pub)
        final = pool / f"set-{time.time_ns()}-{uuid.uuid4().hex[:6]}"
        os.rename(tmp, final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def refill(size: int = POOL_SIZE, root: Path | None = None) -> int:
    """Top the pool up to `size` sets (and drop half-written ones of dead processes); how many were made.
    One refill at a time per process: restores running in parallel threads would otherwise all generate."""
    if not _refill_lock.acquire(blocking=False):
        return 0
    try:
        pool = pool_dir(root)
        now = time.time()
        for p in pool.glob("tmp-*") if pool.is_dir() else []:
            try:
                if now - p.stat().st_mtime > STALE_PARTIAL_S:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                pass
        made = 0
        while len(_ready_sets(pool)) < size:
            add_set(root)
            made += 1
        return made
    finally:
        _refill_lock.release()


def refill_in_background(size: int = POOL_SIZE) -> threading.Thread:
    """Refill while the guide runs (a daemon thread: a process that exits leaves at most a `tmp-` folder)."""
    def work() -> None:
        try:
            refill(size)
        except (OSError, KeygenError):  # the next restore generates its own keys instead
            pass

    t = threading.Thread(target=work, name="hostkeys-refill", daemon=True)
    t.start()
    return t
