"""`doctest-runner doctor [--fix] [--json]`: can this host run guides in VMs, and with what?

Exit 0 when a run is possible, 1 otherwise. `--fix` starts virtlogd and libvirtd when they are not
running (only as root; this host has no systemd, so they are started as daemons directly), gives
/dev/kvm the distribution's udev permissions when no udev manages it (else libvirt re-probes QEMU on
every domain start), and removes VMs left behind by harness processes that were killed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from doctest_runner.cli import missing_vm_modules, vm_extra_hint
from doctest_runner.model import DoctestError
from doctest_runner.paths import cache_root
from doctest_runner.vm import (
    NESTED_PARAMS,
    RemoteHost,
    choose_accel,
    connect,
    cpu_virt_flag,
    list_vms,
    parse_host,
    pkgcache,
    reap_remote,
    reap_stale,
    records_dir,
)
from doctest_runner.vm.hostfix import capabilities_lookup, fix_kvm_device, kvm_device, lookup_verdict
from doctest_runner.vm.store import DEFAULT_MAX_SIZE, human, total_size

MIN_MEM_MB = 2560  # one 2 GiB VM plus the harness
MIN_DISK_GB = 5.0  # one image build

DAEMONS = {
    # name: (pid files, socket)
    "virtlogd": (("/run/virtlogd.pid", "/var/run/virtlogd.pid"), "/run/libvirt/virtlogd-sock"),
    "libvirtd": (("/run/libvirtd.pid", "/var/run/libvirtd.pid"), "/run/libvirt/libvirt-sock"),
}


@dataclass
class CheckItem:
    name: str
    status: str  # ok | warn | fail
    detail: str


def _run(argv: list[str]) -> tuple[int, str]:
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return res.returncode, (res.stdout + res.stderr).strip()


def daemon_running(name: str) -> tuple[bool, str]:
    """By pid file (the process is alive and is that daemon), else by its socket accepting connections."""
    pidfiles, sock = DAEMONS[name]
    for pf in pidfiles:
        try:
            pid = int(Path(pf).read_text().strip())
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except (OSError, ValueError):
            continue
        if comm == name:
            return True, f"pid {pid} ({pf})"
    if Path(sock).exists():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            try:
                s.connect(sock)
                return True, f"socket {sock} answers"
            except OSError:
                pass
    return False, "not running"


def start_daemon(name: str) -> str:
    if os.geteuid() != 0:
        return f"not starting {name}: only root may (run `sudo {name} -d` or `systemctl start {name}`)"
    binary = shutil.which(name) or f"/usr/sbin/{name}"
    if not Path(binary).exists():
        return f"{name} is not installed"
    rc, out = _run([binary, "-d"])
    sock = DAEMONS[name][1]
    for _ in range(50):
        if daemon_running(name)[0] and Path(sock).exists():
            return f"started {name}"
        time.sleep(0.1)
    return f"started {name} but it is not answering yet ({out or rc})"


def mem_available_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def gather(cpuinfo: str | None = None) -> tuple[list[CheckItem], dict]:
    """All checks, and what a run would use."""
    items: list[CheckItem] = []

    def add(name: str, status: str, detail: str) -> None:
        items.append(CheckItem(name, status, detail))

    cpuinfo = cpuinfo if cpuinfo is not None else Path("/proc/cpuinfo").read_text()
    kvm = Path("/dev/kvm")
    if not kvm.exists():
        add("/dev/kvm", "warn", "missing: VMs will run under TCG (slow)")
    elif not os.access(kvm, os.R_OK | os.W_OK):
        add("/dev/kvm", "warn", "present but not readable/writable by this user")
    else:
        add("/dev/kvm", "ok", "present and accessible" + ("" if cpu_virt_flag(cpuinfo) else
                                                         " (unused: the CPU has no vmx/svm)"))
    dev = kvm_device()
    if dev.exists:
        add("kvm for qemu", "ok" if dev.qemu_user_ok else "warn",
            dev.describe() + ("" if dev.qemu_user_ok else " (--fix gives it the udev default)"))
    flag = cpu_virt_flag(cpuinfo)
    add("cpu virtualization", "ok" if flag else "warn",
        f"{flag} flag present" if flag else "no vmx/svm flag: KVM cannot run a stock guest kernel here")
    nested = {k: (p.read_text().strip() if p.exists() else None) for k, p in NESTED_PARAMS.items()}
    shown = ", ".join(f"{'kvm_intel' if k == 'vmx' else 'kvm_amd'}={v}" for k, v in nested.items() if v is not None)
    if not flag:
        add("nested", "ok", "TCG guests see svm (cpu mode maximum) and get an emulated /dev/kvm"
            + (f"; host {shown}" if shown else ""))
    elif not shown:
        add("nested", "warn", "kvm_intel/kvm_amd not loaded: no nested parameter")
    else:
        on = any(v in ("Y", "1") for v in nested.values() if v is not None)
        add("nested", "ok" if on else "warn", shown + ("" if on else ": guests get no /dev/kvm"))
    for name in DAEMONS:
        running, how = daemon_running(name)
        add(name, "ok" if running else "fail", how)
    try:
        import libvirt  # noqa: F401  # lazy: libvirt-python, the optional `vm` extra (its absence is reported)

        conn = connect()
        try:
            v = conn.getLibVersion()
            add("libvirt", "ok", f"{conn.getURI()} (libvirt {v // 1000000}.{v // 1000 % 1000}.{v % 1000})")
            try:
                add("capabilities", *lookup_verdict(capabilities_lookup(conn), capabilities_lookup(conn)))
            except Exception as exc:  # libvirt without a usable QEMU: the qemu line below says why
                add("capabilities", "warn", f"lookup failed: {exc}")
        finally:
            conn.close()
    except ImportError:
        add("libvirt", "fail", "python module libvirt missing: " + vm_extra_hint("run", missing_vm_modules("run")))
    except DoctestError as exc:
        add("libvirt", "fail", exc.message)
    if missing_vm_modules("run") == ["testinfra"]:  # else libvirt's line above already names the extra
        add("testinfra", "fail", "python module testinfra missing: " + vm_extra_hint("run", ["testinfra"]))
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        rc, out = _run([qemu, "--version"])
        add("qemu", "ok" if rc == 0 else "fail", out.splitlines()[0] if out else qemu)
    else:
        add("qemu", "fail", "qemu-system-x86_64 not found (apt-get install qemu-system-x86)")
    for tool, pkg, severity in (("qemu-img", "qemu-utils", "fail"), ("ssh-keygen", "openssh-client", "fail"),
                                ("mkfs.ext4", "e2fsprogs", "fail"), ("debugfs", "e2fsprogs", "warn")):
        path = shutil.which(tool)
        add(tool, "ok" if path else severity, path or f"missing (apt-get install {pkg})")
    boot = [t for t in ("debootstrap", "mmdebstrap") if shutil.which(t)]
    add("debootstrap", "ok" if boot else "fail", ", ".join(boot) if boot else
        "neither debootstrap nor mmdebstrap found (apt-get install debootstrap)")
    iso = [t for t in ("genisoimage", "xorriso") if shutil.which(t)]
    add("seed iso tool", "ok" if iso else "warn", ", ".join(iso) if iso else
        "genisoimage/xorriso missing: cloud-image recipes cannot be built")
    mem = mem_available_mb()
    add("memory", "ok" if mem >= MIN_MEM_MB else "fail", f"{mem} MiB available (a VM takes 2048 MiB)")
    root = cache_root()
    probe = root if root.exists() else next(p for p in [root, *root.parents] if p.exists())
    st = os.statvfs(probe)
    free_gb = st.f_bavail * st.f_frsize / 2**30
    add("disk", "ok" if free_gb >= MIN_DISK_GB else "fail", f"{free_gb:.1f} GiB free for {root}")
    used = total_size()  # the cache may grow to its limit: the disk must have room for the rest of it
    if free_gb * 2**30 + used < DEFAULT_MAX_SIZE:
        add("cache limit", "warn", f"the machine cache may grow to {human(DEFAULT_MAX_SIZE)} (now {human(used)}) but "
            f"only {free_gb:.1f} GiB are free: pass a smaller `run --cache-max` or free disk")
    else:
        add("cache limit", "ok", f"{human(used)} used of {human(DEFAULT_MAX_SIZE)} (`run --cache-max` changes it)")
    apt_cache = pkgcache.status()  # an optimisation: missing or stopped is a warning, never a reason a run cannot go
    add("package cache", "ok" if apt_cache.running else "warn",
        f"{apt_cache.describe()} ({human(pkgcache.disk_size())} cached)")
    stale = stale_vms()
    add("stale VMs", "warn" if stale else "ok",
        f"{len(stale)} left by dead harness processes: {', '.join(stale)} (--fix removes them)" if stale else "none")
    try:
        host = choose_accel(cpuinfo=cpuinfo)
        use = asdict(host)
        add("accel", "ok", f"{host.accel}: {host.why}")
    except DoctestError as exc:
        use = {"accel": None, "why": exc.message}
        add("accel", "fail", exc.message)
    return items, use


def stale_vms() -> list[str]:
    """VM directories whose recorded owner process is gone (what `reap_stale` would remove)."""
    return [vm.name for vm in list_vms() if vm.stale]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("doctor", help="check that this host can run guides in VMs",
                              description="Check /dev/kvm, CPU flags, nested virtualization, libvirt, qemu and "
                                          "image tools, memory and disk; say which acceleration a run would use.",
                              epilog="exit status: 0 every check is ok or a warning; 1 a check failed; 2 usage "
                              "error\n\nexample:\n  doctest-runner doctor --fix")
    p.add_argument("--fix", action="store_true",
                   help="start virtlogd and libvirtd if they are not running (root); give /dev/kvm the udev "
                   "default (root:kvm 0660) when no udev manages it; remove stale VMs")
    p.add_argument("--remove-kept", nargs="*", metavar="VM",
                   help="with --fix, also remove these VMs (none named: all) that --keep-on-failure or `walk` "
                   "left for review, here and on each --host, once the run that kept them has ended")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--host", dest="hosts", action="append", default=[], metavar="URI",
                   help="also check this remote libvirt host (qemu+ssh://user@host/system; repeatable); "
                   "with --fix, remove VMs there left by dead runs of this machine")
    return p


def _kept_selection(names: list[str] | None) -> bool | set[str]:
    """--remove-kept: absent -> False (kept VMs stay), bare -> True (all), with names -> just those."""
    if names is None:
        return False
    return set(names) if names else True


def gather_remote(uri: str, fix: bool = False, kept: bool | set[str] = False) -> tuple[list[CheckItem], list[str]]:
    """One remote host: SSH and libvirt reachable, acceleration, VM slots, image pool, stale VMs of ours."""
    items: list[CheckItem] = []
    fixed: list[str] = []
    try:
        spec = parse_host(uri)
    except DoctestError as exc:
        return [CheckItem(f"host {uri}", "fail", exc.message)], fixed
    name = f"host {spec.label}"
    try:
        with RemoteHost(spec) as rh:
            probe = rh.probe()
            items.append(CheckItem(name, "ok", f"libvirt {probe.libvirt_version} over SSH; guest SSH tunnels "
                                               "through the same connection"))
            items.append(CheckItem(f"{name} accel", "ok", f"{probe.host.accel}: {probe.host.why}"))
            items.append(CheckItem(f"{name} capacity", "ok" if probe.slots else "fail",
                                   f"{probe.slots} VM slot(s): {probe.free_mb} MiB free, {probe.cores} cores"))
            try:
                pool = rh.pool()
                pool.refresh(0)
                vols = pool.listVolumes()
                items.append(CheckItem(f"{name} pool", "ok", f"{spec.pool} at {rh.pool_dir(pool)}: "
                                                             f"{len(vols)} volume(s)"))
            except Exception as exc:  # the run would fail at its first upload: say so now
                items.append(CheckItem(f"{name} pool", "fail", f"{spec.pool}: {exc}"))
            if fix:
                fixed.extend(f"removed {'kept or stale' if kept else 'stale'} VM {n} on {spec.label}"
                             for n in reap_remote(spec, rh, include_kept=kept))
    except DoctestError as exc:
        items.append(CheckItem(name, "fail", exc.message))
        return items, fixed
    stale = [vm.name for vm in list_vms(records_dir(spec), prefix="") if vm.stale]
    items.append(CheckItem(f"{name} stale VMs", "warn" if stale else "ok",
                           f"{len(stale)} left by dead runs: {', '.join(stale)} (--fix removes them)" if stale
                           else "none"))
    return items, fixed


def run(args: argparse.Namespace) -> int:
    fixed: list[str] = []
    kept = _kept_selection(args.remove_kept)
    if kept and not args.fix:
        raise DoctestError("doctor: --remove-kept removes VMs only together with --fix")
    if args.fix:
        changed = fix_kvm_device()
        if changed:
            fixed.append(changed)
        for name in DAEMONS:  # virtlogd first: libvirtd hands it the console logs
            if not daemon_running(name)[0]:
                fixed.append(start_daemon(name))
        if not pkgcache.status().running and pkgcache.start(log=lambda _m: None).running:
            fixed.append(f"started the guests' package cache (apt-cacher-ng on 127.0.0.1:{pkgcache.PORT})")
        if stale_vms() or kept:
            fixed.extend(f"removed {'kept or stale' if kept else 'stale'} VM {n}"
                         for n in reap_stale(include_kept=kept))
    items, use = gather()
    for uri in getattr(args, "hosts", []):
        more, done = gather_remote(uri, fix=args.fix, kept=kept)
        items.extend(more)
        fixed.extend(done)
    ok = all(i.status != "fail" for i in items)
    if args.json:
        print(json.dumps({"ok": ok, "use": use, "checks": [asdict(i) for i in items], "fixed": fixed}, indent=2))
        return 0 if ok else 1
    for msg in fixed:
        print(f"fix: {msg}")
    width = max(len(i.name) for i in items)
    for i in items:
        print(f"{i.status.upper():<4}  {i.name:<{width}}  {i.detail}")
    accel = use.get("accel")
    print(f"\nwill use: {accel.upper() if accel else 'nothing'} - {use.get('why')}")
    if not ok:
        hint = " (try --fix)" if any(re.match("libvirtd|virtlogd", i.name) and i.status == "fail" for i in items) \
            else ""
        print(f"a run is not possible on this host{hint}")
    return 0 if ok else 1
