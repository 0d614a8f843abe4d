"""Slow paths on the host that libvirt does not report, found by measuring and fixed narrowly.

On a machine without udev (containers, minimal CI images) `/dev/kvm` keeps the kernel's `0600 root:root`.
libvirt checks KVM as its QEMU user, finds it unusable, decides its cached QEMU capabilities are stale, and
probes QEMU again on *every* domain start (seconds each). Debian's udev rules give the device `root:kvm 0660`;
doing the same here is the whole fix, and the only host change `doctor --fix` makes for it.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

KVM_DEVICE = Path("/dev/kvm")
UDEV_CONTROL = Path("/run/udev/control")  # present while udevd manages devices
QEMU_CONF = Path("/etc/libvirt/qemu.conf")
UDEV_RULES = (Path("/usr/lib/udev/rules.d/50-udev-default.rules"), Path("/lib/udev/rules.d/50-udev-default.rules"))
DEFAULT_GROUP, DEFAULT_MODE = "kvm", 0o660  # Debian's udev default for /dev/kvm
SLOW_LOOKUP_S = 1.0  # a cached capabilities lookup takes ~0.02 s; a QEMU probe takes seconds


@dataclass(frozen=True)
class KvmDevice:
    """Who may open /dev/kvm, and whether libvirt's QEMU user is among them."""

    exists: bool
    mode: int = 0
    group: str = ""
    qemu_user: str = ""
    qemu_user_ok: bool = False
    udev_managed: bool = False

    def describe(self) -> str:
        if not self.exists:
            return "no /dev/kvm"
        who = "can" if self.qemu_user_ok else "cannot"
        return f"/dev/kvm is {self.mode:04o} root:{self.group}; libvirt's QEMU user {self.qemu_user} {who} open it"


def qemu_user(conf_text: str | None = None) -> str:
    """libvirt's QEMU user from qemu.conf (`user = "..."`), else Debian's build default."""
    if conf_text is None:
        try:
            conf_text = QEMU_CONF.read_text()
        except OSError:
            conf_text = ""
    m = re.search(r'^\s*user\s*=\s*"([^"]+)"', conf_text, re.M)
    return m.group(1) if m else "libvirt-qemu"


def udev_rule(rules_text: str | None = None) -> tuple[str, int]:
    """The group and mode the distribution's udev rules give /dev/kvm (Debian: kvm, 0660)."""
    texts = [rules_text] if rules_text is not None else [p.read_text() for p in UDEV_RULES if p.is_file()]
    for text in texts:
        m = re.search(r'KERNEL=="kvm".*?GROUP="(\w+)".*?MODE="(0[0-7]{3})"', text)
        if m:
            return m.group(1), int(m.group(2), 8)
    return DEFAULT_GROUP, DEFAULT_MODE


def _user_may_open(user: str, st: os.stat_result) -> bool:
    """Whether `user` passes the permission bits for read+write (what QEMU needs), by uid and groups."""
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        return False
    if pw.pw_uid == 0:
        return True
    groups = {pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}
    if pw.pw_uid == st.st_uid:
        bits = (st.st_mode >> 6) & 0o7
    elif st.st_gid in groups:
        bits = (st.st_mode >> 3) & 0o7
    else:
        bits = st.st_mode & 0o7
    return bits & 0o6 == 0o6


def kvm_device(device: Path = KVM_DEVICE, user: str | None = None) -> KvmDevice:
    try:
        st = device.stat()
    except OSError:
        return KvmDevice(exists=False)
    user = user or qemu_user()
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return KvmDevice(True, stat.S_IMODE(st.st_mode), group, user, _user_may_open(user, st), UDEV_CONTROL.exists())


def fix_kvm_device(device: Path = KVM_DEVICE) -> str | None:
    """Give /dev/kvm the distribution's udev group and mode when no udev manages it; say what changed.

    Nothing is changed when the QEMU user can already open it, when udev manages the device (its rules
    win at the next event, so a change here would only hide a local policy), or when not root.
    """
    state = kvm_device(device)
    if not state.exists or state.qemu_user_ok or state.udev_managed:
        return None
    if os.geteuid() != 0:
        return f"not changing /dev/kvm: only root may ({state.describe()})"
    group, mode = udev_rule()
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        return f"not changing /dev/kvm: no group {group} on this host"
    before = f"{state.mode:04o} root:{state.group}"
    os.chown(device, 0, gid)
    os.chmod(device, mode)
    return f"/dev/kvm {before} -> {mode:04o} root:{group} (the distribution's udev default; no udev runs here)"


def capabilities_lookup(conn: Any, clock: Callable[[], float] = time.monotonic) -> float:
    """Seconds libvirt takes to answer a domain-capabilities lookup (what each domain start pays first)."""
    t0 = clock()
    conn.getDomainCapabilities(None, None, None, None, 0)
    return clock() - t0


def lookup_verdict(first: float, second: float) -> tuple[str, str]:
    """`ok`/`warn` and a detail line from two consecutive lookups: both slow means a re-probe every time."""
    shown = f"{first:.2f} s then {second:.2f} s"
    if second >= SLOW_LOOKUP_S:
        return "warn", (f"{shown}: libvirt re-probes QEMU on every domain start (its cached capabilities "
                        "disagree with what its QEMU user can open)")
    return "ok", f"{shown} (cached)"
