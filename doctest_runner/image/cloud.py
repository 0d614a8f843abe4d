"""Import a cloud image the user already has, configured at first boot by a cloud-init NoCloud seed.

The source file is copied (converted) into the cache, so the user's file is never written and may go away.
The seed (ISO labelled `cidata` with user-data and meta-data) creates the guide's user with the harness's
SSH key and passwordless sudo; it is attached to every VM as a cdrom, and because each VM's overlay starts
from a never-booted base, cloud-init runs on each VM's first (and only) boot.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from doctest_runner.image.cache import host_key_line
from doctest_runner.image.debootstrap import run_logged, version_key
from doctest_runner.image.recipe import Recipe
from doctest_runner.model import DoctestError

Log = Callable[[str], None]
SECTOR = 512


def user_data(recipe: Recipe, pubkey: str, host_key: tuple[str, str] | None = None) -> dict[str, Any]:
    """The #cloud-config: the guide's user with key and NOPASSWD sudo, root key, hostname in /etc/hosts; with
    `host_key` (private, public) the guest's ed25519 host key too, so the first login can be pinned to it."""
    user = recipe.data.get("user", "tester") or "tester"
    data: dict[str, Any] = {
        "hostname": recipe.get("hostname"),
        "manage_etc_hosts": True,  # 127.0.1.1 <hostname>, so sudo does not warn
        "users": [{
            "name": user,
            "shell": "/bin/bash",
            "sudo": "ALL=(ALL) NOPASSWD:ALL",
            "lock_passwd": True,
            "ssh_authorized_keys": [pubkey],
        }],
        "disable_root": False,
        "ssh_authorized_keys": [pubkey],  # without a default user these go to root (disable_root false)
        "ssh_pwauth": False,
        "package_update": False,
        "package_upgrade": False,
    }
    if host_key is not None:
        data["ssh_keys"] = {"ed25519_private": host_key[0], "ed25519_public": host_key[1]}
    data.update(recipe.get("user_data"))
    return data


def seed_host_key(work: Path, log_file: Path) -> tuple[str, str]:
    """A fresh ed25519 host key pair for the seed (made on the host: the guest would make its own at first
    boot, and then nothing could tell its key from an impostor's)."""
    key = work / "ssh_host_ed25519_key"
    run_logged(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@doctest", "-f", str(key)], log_file,
               "seed host key generation")
    pair = key.read_text(), key.with_suffix(".pub").read_text().strip()
    key.unlink()
    key.with_suffix(".pub").unlink()
    return pair


def pinned_key(user: dict[str, Any], host_key: tuple[str, str]) -> str | None:
    """The public key a guest booted with `user` (user-data) presents: ours, unless the recipe's `user_data`
    replaced `ssh_keys` (then nothing is pinned: the recipe chose the keys)."""
    keys = user.get("ssh_keys")
    if isinstance(keys, dict) and keys.get("ed25519_public") == host_key[1]:
        return host_key_line(host_key[1])
    return None


def meta_data(recipe: Recipe, instance_id: str) -> dict[str, Any]:
    return {"instance-id": instance_id, "local-hostname": recipe.get("hostname")}


def make_seed(out: Path, user: dict[str, Any], meta: dict[str, Any], log_file: Path) -> None:
    """A NoCloud seed ISO (volume id `cidata`) with genisoimage or xorriso."""
    d = out.parent / "seed"
    d.mkdir(exist_ok=True)
    (d / "user-data").write_text("#cloud-config\n" + yaml.safe_dump(user, sort_keys=False))
    (d / "meta-data").write_text(yaml.safe_dump(meta, sort_keys=False))
    files = [str(d / "user-data"), str(d / "meta-data")]
    if shutil.which("genisoimage"):
        argv = ["genisoimage", "-quiet", "-output", str(out), "-volid", "cidata", "-joliet", "-rock", *files]
    elif shutil.which("xorriso"):
        argv = ["xorriso", "-as", "mkisofs", "-quiet", "-output", str(out), "-volid", "cidata", "-joliet", "-rock",
                *files]
    else:
        raise DoctestError("making a cloud-init seed needs genisoimage or xorriso (apt-get install genisoimage)")
    run_logged(argv, log_file, "making the cloud-init seed")


@dataclass
class Partition:
    number: int
    start: int  # bytes
    size: int  # bytes


def partitions(head: bytes) -> list[Partition]:
    """Partitions from the first sectors of a disk (MBR or GPT); [] for an unpartitioned filesystem."""
    if len(head) < 2 * SECTOR or head[510:512] != b"\x55\xaa":
        return []
    entries = [struct.unpack_from("<B3sB3sII", head, 446 + 16 * i) for i in range(4)]
    if any(e[2] == 0xEE for e in entries) and head[SECTOR:SECTOR + 8] == b"EFI PART":
        lba, count, esize = struct.unpack_from("<QII", head, SECTOR + 72)
        out = []
        for i in range(count):
            off = lba * SECTOR + i * esize
            if off + esize > len(head):
                break
            first, last = struct.unpack_from("<QQ", head, off + 32)
            if head[off:off + 16] != b"\0" * 16 and last >= first:
                out.append(Partition(i + 1, first * SECTOR, (last - first + 1) * SECTOR))
        return out
    # A filesystem's boot sector can also end in 55aa; real MBR entries have status 0x00 or 0x80.
    if any(e[0] not in (0, 0x80) for e in entries):
        return []
    return [Partition(i + 1, e[4] * SECTOR, e[5] * SECTOR) for i, e in enumerate(entries) if e[2] and e[5]]


def _debugfs(image: Path, offset: int, request: str) -> subprocess.CompletedProcess:
    return subprocess.run(["debugfs", "-R", request, f"{image}?offset={offset}"], capture_output=True, text=True)


def extract_kernel(raw: Path, work: Path, root_partition: int | None, log_file: Path) -> tuple[str, str]:
    """Copy the newest vmlinuz/initrd out of an ext2/3/4 filesystem in the image (no mounting needed)."""
    with open(raw, "rb") as fh:
        head = fh.read(64 * SECTOR)
    parts = partitions(head)
    if root_partition is not None:
        parts = [p for p in parts if p.number == root_partition]
        if not parts:
            raise DoctestError(f"root_partition {root_partition} not found in the image")
    offsets = [p.start for p in parts] if parts else [0]
    for off in offsets:
        for bootdir in ("/boot", "/"):
            res = _debugfs(raw, off, f"ls {bootdir}")
            if res.returncode != 0 or "vmlinuz-" not in res.stdout:
                continue
            names = {n for n in res.stdout.split() if n.startswith(("vmlinuz-", "initrd.img-", "initramfs-"))}
            kernels = sorted((n for n in names if n.startswith("vmlinuz-")), key=version_key)
            for k in reversed(kernels):
                ver = k[len("vmlinuz-"):]
                initrd = next((n for n in (f"initrd.img-{ver}", f"initramfs-{ver}.img") if n in names), None)
                if initrd is None:
                    continue
                for src, dst in ((k, "vmlinuz"), (initrd, "initrd.img")):
                    path = f"{bootdir.rstrip('/')}/{src}"
                    r = _debugfs(raw, off, f"dump {path} {work / dst}")
                    if r.returncode != 0 or not (work / dst).exists() or (work / dst).stat().st_size == 0:
                        raise DoctestError(f"could not copy {path} out of the image: {r.stderr.strip()}")
                with open(log_file, "a") as fh:
                    fh.write(f"kernel {bootdir}/{k} and {initrd} taken from offset {off}\n")
                return "vmlinuz", "initrd.img"
    raise DoctestError("boot: kernel, but no ext2/3/4 filesystem in the image has /boot/vmlinuz-* with an initrd "
                       "(use boot: disk for images with a bootloader)")


def _size_bytes(size: str) -> int:
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(size[:-1]) * mult[size[-1]] if size[-1] in mult else int(size)


def build_cloud(recipe: Recipe, src: Path, work: Path, pubkey: str, log: Log) -> dict:
    """Import `src` into `work` as base.qcow2 plus seed.iso (and vmlinuz/initrd for boot: kernel)."""
    log_file = work / "build.log"
    res = subprocess.run(["qemu-img", "info", "--output=json", str(src)], capture_output=True, text=True)
    if res.returncode != 0:
        raise DoctestError(f"not a disk image qemu-img can read: {res.stderr.strip()}", str(src))
    info = json.loads(res.stdout)
    if info.get("backing-filename"):
        raise DoctestError("the cloud image has a backing file; flatten it first (qemu-img convert)", str(src))
    log(f"importing {src} ({info.get('format')}, {info.get('virtual-size', 0) / 2**30:.1f} GiB virtual)")
    base = work / "base.qcow2"
    run_logged(["qemu-img", "convert", "-f", info["format"], "-O", "qcow2", str(src), str(base)], log_file,
               "qemu-img convert of the cloud image")
    want = _size_bytes(recipe.get("disk_size"))
    if want > int(info.get("virtual-size", 0)):  # cloud-init's growpart/resizefs use the space at first boot
        run_logged(["qemu-img", "resize", "-q", str(base), str(want)], log_file, "qemu-img resize")
    host_key = seed_host_key(work, log_file)
    user = user_data(recipe, pubkey, host_key)
    make_seed(work / "seed.iso", user, meta_data(recipe, f"doctest-{recipe.name}"), log_file)
    fields: dict[str, Any] = {"base": "base.qcow2", "seed": "seed.iso", "source": str(src),
                              "user": recipe.data.get("user", "tester") or "tester", "cmdline": "",
                              "kernel": None, "initrd": None, "host_key": pinned_key(user, host_key)}
    if recipe.get("boot") == "kernel":
        raw = work / "disk.raw"
        run_logged(["qemu-img", "convert", "-O", "raw", str(base), str(raw)], log_file, "qemu-img convert to raw")
        try:
            fields["kernel"], fields["initrd"] = extract_kernel(raw, work, recipe.get("root_partition"), log_file)
        finally:
            raw.unlink(missing_ok=True)
        fields["cmdline"] = recipe.get("cmdline")
    return fields
