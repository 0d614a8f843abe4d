"""Host facts: choosing KVM or TCG (and saying why), and the emulator's version.

On a host whose CPU lacks vmx/svm, /dev/kvm may still exist, but a stock guest kernel hangs right after
decompression under it; so the flags decide, not the device node alone.

The decision is made ONCE per command, at its edge (cli, the pytest plugin): `requested_accel` reads the user's
setting (--accel, then $DOCTEST_RUNNER_ACCEL), `decide_host` probes, and the HostInfo is passed down as a
parameter; nothing below reads the environment again or writes it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from doctest_runner.model import DoctestError, HostInfo

NESTED_PARAMS = {
    "vmx": Path("/sys/module/kvm_intel/parameters/nested"),
    "svm": Path("/sys/module/kvm_amd/parameters/nested"),
}


def cpu_virt_flag(cpuinfo: str) -> str | None:
    """'vmx' or 'svm' if the first CPU's flags line has it."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags = set(value.split())
            for flag in ("vmx", "svm"):
                if flag in flags:
                    return flag
            return None
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def choose_accel(override: str | None = None, *, cpuinfo: str | None = None, kvm_dev: Path = Path("/dev/kvm"),
                 nested_params: Mapping[str, Path] = NESTED_PARAMS,
                 env: Mapping[str, str] | None = None) -> HostInfo:
    """KVM (cpu host-passthrough, nested) when the host can, else TCG (cpu maximum); override by arg or
    $DOCTEST_RUNNER_ACCEL. Every input is a parameter so the decision can be tested without the hardware."""
    env = os.environ if env is None else env
    if cpuinfo is None:
        cpuinfo = _read(Path("/proc/cpuinfo")) or ""
    flag = cpu_virt_flag(cpuinfo)
    nested = _read(nested_params[flag]) if flag else None
    kvm_ok = kvm_dev.exists() and os.access(kvm_dev, os.R_OK | os.W_OK)

    forced = override or env.get("DOCTEST_RUNNER_ACCEL") or None
    source = "accel=" if override else "DOCTEST_RUNNER_ACCEL"
    if forced is not None:
        forced = forced.strip().lower()
        if forced not in ("kvm", "tcg"):
            raise DoctestError(f"{source}{'' if override else '='}{forced!r}: expected kvm or tcg")
        if forced == "kvm":
            if not kvm_ok:
                raise DoctestError(f"kvm requested by {source} but {kvm_dev} is missing or not accessible")
            why = f"requested by {source}"
            if not flag:
                why += " (warning: host CPU shows no vmx/svm; a stock guest kernel may hang)"
            return HostInfo(accel="kvm", why=why, cpu_mode="host-passthrough", nested=nested)
        return HostInfo(accel="tcg", why=f"requested by {source}", cpu_mode="maximum",
                        nested="emulated (svm exposed by cpu mode maximum)")

    if not flag:
        why = "host CPU has no vmx/svm flags, so KVM cannot run a stock guest kernel"
        if kvm_dev.exists():
            why += f" ({kvm_dev} exists but would hang the guest after decompression)"
        return HostInfo(accel="tcg", why=why, cpu_mode="maximum", nested="emulated (svm exposed by cpu mode maximum)")
    if not kvm_ok:
        state = "missing" if not kvm_dev.exists() else "not accessible"
        return HostInfo(accel="tcg", why=f"host CPU has {flag} but {kvm_dev} is {state} (is the kvm module "
                        "loaded and may this user open it?)", cpu_mode="maximum",
                        nested="emulated (svm exposed by cpu mode maximum)")
    nested_txt = nested if nested is not None else "unknown"
    why = f"host CPU has {flag} and {kvm_dev} works; cpu host-passthrough (nested={nested_txt})"
    if nested is not None and nested not in ("Y", "1"):
        why += "; nested virtualization is off, so guests get no /dev/kvm"
    return HostInfo(accel="kvm", why=why, cpu_mode="host-passthrough", nested=nested)


ACCEL_ENV = "DOCTEST_RUNNER_ACCEL"


def requested_accel(arg: str | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """The user's acceleration setting: the command's --accel, else $DOCTEST_RUNNER_ACCEL, else None (probe)."""
    env = os.environ if env is None else env
    return arg or env.get(ACCEL_ENV) or None


def decide_host(arg: str | None = None, env: Mapping[str, str] | None = None) -> HostInfo:
    """The local host's acceleration for this command, decided once: --accel, then the environment, then the
    probe (`choose_accel`); a requested but unusable or unknown acceleration is a one-line DoctestError."""
    return choose_accel(requested_accel(arg, env), env={})


_qemu_version: str | None = None


def qemu_version(emulator: str = "qemu-system-x86_64") -> str:
    """The emulator's version line (a saved state only loads into the qemu that wrote it); asked once."""
    global _qemu_version
    if _qemu_version is None:
        try:
            out = subprocess.run([emulator, "--version"], capture_output=True, text=True, timeout=30).stdout
            _qemu_version = out.splitlines()[0].strip() if out else "unknown"
        except (OSError, subprocess.SubprocessError):
            _qemu_version = "unknown"
    return _qemu_version
