"""The image cache: one directory per built image, keyed by recipe hash, plus a per-cache SSH key pair.

Layout under the images directory (`images/` under `paths.cache_root()`):
    <name>-<hash>/image.json base.qcow2 [vmlinuz initrd.img seed.iso] build.log
    .rootfs/<hash>.tar     debootstrap results, reused when only the configuration changes
    .debs/                 downloaded .deb files (debootstrap --cache-dir)
    .locks/                flock files, so two processes never build the same thing at once
    id_ed25519[.pub]       the key the harness logs in with (never printed)
A directory appears under its final name only once complete (built in .tmp-*, then renamed).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from doctest_runner.model import DoctestError
from doctest_runner.paths import cache_root

MANIFEST = "image.json"


def images_dir(cache_dir: Path | None = None) -> Path:
    d = Path(cache_dir) if cache_dir is not None else cache_root() / "images"
    d.mkdir(parents=True, exist_ok=True)
    return d


@dataclass
class BuiltImage:
    """A ready base image; everything `vm.boot` needs to start a machine from it."""

    name: str
    recipe_hash: str
    kind: str  # "debootstrap" | "cloud-image"
    distro: str
    base: Path  # qcow2, never written once built
    kernel: Path | None  # direct kernel boot when set, else boot from the disk
    initrd: Path | None
    cmdline: str
    user: str
    key_path: Path  # private key for `user` and root
    cache_dir: Path  # this image's directory
    seed: Path | None = None  # cloud-init NoCloud seed (cloud-image kind), attached as a cdrom
    hostname: str = "doctest"
    host_key: str | None = None  # "ssh-ed25519 AAAA...": the guest's SSH host key, made by the build (pinned)

    def to_json(self) -> dict:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}

    @classmethod
    def from_dir(cls, d: Path, key_path: Path) -> BuiltImage:
        """Read a built image's manifest; paths in it are relative to its directory so the cache can move."""
        m = json.loads((d / MANIFEST).read_text())

        def rel(v: str | None) -> Path | None:
            return d / v if v else None

        return cls(name=m["name"], recipe_hash=m["recipe_hash"], kind=m["kind"], distro=m["distro"],
                   base=d / m["base"], kernel=rel(m.get("kernel")), initrd=rel(m.get("initrd")),
                   cmdline=m.get("cmdline", ""), user=m["user"], key_path=key_path, cache_dir=d,
                   seed=rel(m.get("seed")), hostname=m.get("hostname", "doctest"),
                   host_key=host_key_line(m["host_key"]) if m.get("host_key") else None)


def host_key_line(pub: str) -> str:
    """`type base64` of an OpenSSH public key line (the comment dropped); DoctestError if it is not one.

    The image build makes the guest's host keys, so a cold-booted guest's key is known before its first
    login: `vm.boot` pins it (a guest answering with another key is refused, not trusted on first use)."""
    parts = pub.split()
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-")):
        raise DoctestError(f"not an SSH public key: {pub[:40]!r}")
    try:
        base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise DoctestError(f"not an SSH public key (bad base64): {pub[:40]!r}") from None
    return f"{parts[0]} {parts[1]}"


def write_manifest(d: Path, **fields: object) -> None:
    fields.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    (d / MANIFEST).write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def file_lock(path: Path, log=None, what: str = "") -> Iterator[None]:
    """Exclusive flock; tells the user when it has to wait for another process."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if log:
                log(f"waiting for another process building {what or path.name} ...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def ensure_keypair(idir: Path) -> Path:
    """The per-cache ed25519 key pair (created once, 0600); returns the private key path."""
    key = idir / "id_ed25519"
    if key.exists() and key.with_suffix(".pub").exists():
        return key
    with file_lock(idir / ".locks" / "keypair.lock"):
        if key.exists() and key.with_suffix(".pub").exists():
            return key
        tmp = idir / f".tmp-key-{os.getpid()}"
        for p in (tmp, tmp.with_suffix(".pub")):
            p.unlink(missing_ok=True)
        res = subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "doctest-runner", "-f", str(tmp)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise DoctestError(f"ssh-keygen failed: {res.stderr.strip()}")
        os.chmod(tmp, 0o600)
        os.replace(tmp.with_suffix(".pub"), key.with_suffix(".pub"))
        os.replace(tmp, key)
    return key


def public_key(key_path: Path) -> str:
    return key_path.with_suffix(".pub").read_text().strip()


def dir_size(path: Path) -> int:
    """Bytes actually allocated (qcow2 files are sparse)."""
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_blocks * 512
        except OSError:
            pass
    return total


def mounts_below(path: Path) -> list[str]:
    """Mount points inside `path` (a build chroot may still have /proc mounted if a build was killed)."""
    prefix = str(Path(path).resolve()) + "/"
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return []
    points = [ln.split()[1].replace("\\040", " ") for ln in lines if len(ln.split()) > 1]
    return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)


def remove_tree(path: Path) -> None:
    """rm -rf that first unmounts anything below, so it can never walk into the host's /proc or /dev."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    for mp in mounts_below(path):
        subprocess.run(["umount", "-l", mp], capture_output=True)
    if mounts_below(path):
        raise DoctestError(f"refusing to delete {path}: something is still mounted below it")
    shutil.rmtree(path, ignore_errors=True)
