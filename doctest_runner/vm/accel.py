"""Choosing KVM or TCG, and saying why.

On a host whose CPU lacks vmx/svm, /dev/kvm may still exist, but a stock guest kernel hangs right after
decompression under it; so the flags decide, not the device node alone.
"""

from __future__ import annotations

import os
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
