"""Where running VMs keep their overlay, and who owns them (so a killed harness's VMs can be reaped).

<cache root>/vms/doctest-<run_id>/ holds overlay.qcow2 and owner.json {pid, start_time, domain, kept}.
A pid alone could be reused by an unrelated process; the pair (pid, start time) cannot.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path

from doctest_runner.paths import cache_root

PREFIX = "doctest-"
OWNER_FILE = "owner.json"


def vms_dir() -> Path:
    d = cache_root() / "vms"
    d.mkdir(parents=True, exist_ok=True)
    return d


def process_start_time(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (/proc/<pid>/stat field 22), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


@dataclass
class Owner:
    pid: int
    start_time: int | None
    domain: str
    created: float
    kept: bool = False  # boot(keep=True): left running on purpose, never reaped as stale
    base: str | None = None  # the image base the overlay sits on (so prune never removes it under a VM)

    def alive(self) -> bool:
        st = process_start_time(self.pid)
        return st is not None and (self.start_time is None or st == self.start_time)


def write_owner(vmdir: Path, domain: str, pid: int | None = None, base: Path | None = None) -> Owner:
    pid = os.getpid() if pid is None else pid
    owner = Owner(pid=pid, start_time=process_start_time(pid), domain=domain, created=time.time(),
                  base=str(base) if base else None)
    save_owner(vmdir, owner)
    return owner


def reapable(name: str, owner: Owner, include_kept: bool | Collection[str] = False) -> bool:
    """A VM whose owner process is gone may go, unless it was kept for review and not named (or all) here."""
    if owner.alive():
        return False
    if not owner.kept:
        return True
    return include_kept is True or (not isinstance(include_kept, bool) and name in include_kept)


def save_owner(vmdir: Path, owner: Owner) -> None:
    tmp = vmdir / f".{OWNER_FILE}.tmp"
    tmp.write_text(json.dumps(asdict(owner), indent=1) + "\n")
    os.replace(tmp, vmdir / OWNER_FILE)


def read_owner(vmdir: Path) -> Owner | None:
    try:
        d = json.loads((vmdir / OWNER_FILE).read_text())
        return Owner(pid=int(d["pid"]), start_time=d.get("start_time"), domain=str(d["domain"]),
                     created=float(d.get("created", 0)), kept=bool(d.get("kept", False)), base=d.get("base"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def qemu_pids(domain: str) -> list[int]:
    """Host qemu processes running a given domain (libvirt names the guest on the command line)."""
    pids = []
    needle = f"guest={domain},".encode()
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes()
        except OSError:
            continue
        if b"qemu-system" in cmd and (needle in cmd or cmd.endswith(f"guest={domain}".encode() + b"\0")):
            pids.append(int(p.name))
    return pids


def bases_in_use() -> dict[str, str]:
    """Image bases under VMs whose owner lives (or that were kept): base path -> VM name."""
    out: dict[str, str] = {}
    root = cache_root() / "vms"
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        owner = read_owner(d) if d.is_dir() else None
        if owner is not None and owner.base and (owner.kept or owner.alive()):
            out[owner.base] = d.name
    return out


@dataclass(frozen=True)
class VMRecord:
    """One of our VMs as its owner record tells it (`list_vms`): who owns it, and what a reaper would do."""

    name: str
    path: Path
    owner: Owner

    @property
    def kept(self) -> bool:
        return self.owner.kept

    @property
    def alive(self) -> bool:
        """Its owner process still runs (the same pid and start time)."""
        return self.owner.alive()

    @property
    def stale(self) -> bool:
        """Left by a dead harness and not kept for review: `reap_stale` (or `reap_remote`) removes it."""
        return not self.kept and not self.alive


def list_vms(records: Path | None = None, prefix: str = PREFIX) -> list[VMRecord]:
    """Our VMs with an owner record under `records` (default: this host's vms_dir()), sorted by name; the one
    place that reads owner records for others (doctor), so staleness is decided here only."""
    root = vms_dir() if records is None else records
    out = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        owner = read_owner(d) if d.is_dir() and d.name.startswith(prefix) else None
        if owner is not None:
            out.append(VMRecord(d.name, d, owner))
    return out
