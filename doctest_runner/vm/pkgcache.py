"""The guests' Debian package cache: apt-cacher-ng on the host's loopback, reached through user-mode networking.

Every guide that installs packages downloads the same `.deb`s again, in every run. A caching proxy on the host
serves them from disk the second time. It stays out of the guide's way:

- it listens on 127.0.0.1 only; QEMU's user-mode networking shows the host's loopback to the guest as
  `10.0.2.2` (no bridge, no route of our own making);
- the guest gets one apt setting, `Acquire::http::Proxy-Auto-Detect`, whose helper answers the cache's address
  when it answers and `DIRECT` otherwise, so a cache that is down never turns into a failed step; the guide's
  `sources.list`, `apt-get update` and its errors stay what a reader's machine has (a wrong repository line
  still fails `apt-get update`, answered 404 by the origin through the cache);
- only `http://` sources go through it (apt does not proxy `https://` with this setting);
- its files live under the harness's cache folder (`package-cache/`), counted and pruned by `cache`.

Started by `doctor --fix` (like libvirtd) and, when apt-cacher-ng is installed, by `run` itself.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from doctest_runner.paths import cache_root
from doctest_runner.wait import WaitTimeout, poll

MAX_SIZE = 2 * 1024**3  # downloaded packages kept; `cache prune` and every run trim the least recently used
PORT = 3142  # apt-cacher-ng's usual port, on 127.0.0.1 only
GUEST_HOST = "10.0.2.2"  # the host's loopback as user-mode networking shows it to the guest
DAEMON = "/usr/sbin/apt-cacher-ng"
SUPPORT_DIR = "/usr/lib/apt-cacher-ng"
GUEST_CONF = "/etc/apt/apt.conf.d/00doctest-package-cache"
GUEST_HELPER = "/usr/local/lib/doctest-package-cache"


@dataclass(frozen=True)
class CacheStatus:
    """What `doctor` and `run` say about the package cache."""

    installed: bool
    running: bool
    pid: int | None
    port: int
    root: Path

    def describe(self) -> str:
        if not self.installed:
            return "apt-cacher-ng is not installed (apt-get install apt-cacher-ng; `doctor --fix` starts it)"
        if not self.running:
            return f"apt-cacher-ng installed, not running (`doctor --fix` starts it on 127.0.0.1:{self.port})"
        return (f"apt-cacher-ng on 127.0.0.1:{self.port} (pid {self.pid}), guests reach it as "
                f"{GUEST_HOST}:{self.port}; files in {self.root}")


def root() -> Path:
    return cache_root() / "package-cache"


def _pid() -> int | None:
    try:
        pid = int((root() / "run" / "pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    try:  # a recycled pid is not our daemon
        if "apt-cacher-ng" not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            return None
    except OSError:
        return None
    return pid


def _answers(port: int = PORT, timeout: float = 1.0) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=timeout):
        return True
    return False


def disk_size() -> int:
    total = 0
    data = root() / "data"
    if data.is_dir():
        for p in data.rglob("*"):
            with contextlib.suppress(OSError):
                if p.is_file():
                    total += p.stat().st_blocks * 512
    return total


def status() -> CacheStatus:
    """Whether our daemon runs (its size on disk is `disk_size()`: a walk of the cache, kept off this path,
    which every run's start takes)."""
    pid = _pid()
    return CacheStatus(installed=Path(DAEMON).is_file(), running=pid is not None and _answers(), pid=pid,
                       port=PORT, root=root())


def config_text(base: Path, port: int = PORT) -> str:
    """apt-cacher-ng's configuration: loopback only, files under `base`, no remapping to mirror lists (the
    origin a guide names is the origin fetched), no report page or admin actions reachable by guests."""
    return "\n".join([
        f"CacheDir: {base / 'data'}",
        f"LogDir: {base / 'log'}",
        f"SupportDir: {SUPPORT_DIR}",
        f"Port: {port}",
        "BindAddress: 127.0.0.1",
        f"PidFile: {base / 'run' / 'pid'}",
        f"SocketPath: {base / 'run' / 'socket'}",
        "ForeGround: 0",
        "ExThreshold: 4",
        "ReportPage:",
        "ExStartTradeOff: 500m",
        "",
    ])


def start(log=print) -> CacheStatus:
    """Start our apt-cacher-ng if it is installed and not running (idempotent); returns the status after."""
    st = status()
    if st.running or not st.installed:
        return st
    if _answers():  # something else holds the port: never point guests at a service that is not ours
        log(f"package cache: 127.0.0.1:{PORT} is taken by another program; not started")
        return st
    base = root()
    for sub in ("data", "log", "run", "conf"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    conf = base / "conf"
    (conf / "acng.conf").write_text(config_text(base))
    subprocess.run([DAEMON, "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30, check=False)
    with contextlib.suppress(WaitTimeout):  # status() below says whether it came up
        poll(lambda: True if _pid() and _answers() else None, timeout=10, interval=0.1, what="apt-cacher-ng")
    st = status()
    log(f"package cache: {st.describe()}" if st.running else "package cache: apt-cacher-ng did not start")
    return st


def prune(max_size: int) -> int:
    """Delete the least recently used cached files until the package cache fits `max_size`; returns bytes freed.
    apt-cacher-ng keeps a `.head` file beside each download; both go together."""
    data = root() / "data"
    if not data.is_dir():
        return 0
    files = []
    for p in data.rglob("*"):
        with contextlib.suppress(OSError):
            if p.is_file() and not p.name.endswith(".head"):
                st = p.stat()
                head = p.with_name(p.name + ".head")
                size = st.st_blocks * 512 + (head.stat().st_blocks * 512 if head.is_file() else 0)
                files.append((max(st.st_atime, st.st_mtime), size, p))
    total = disk_size()
    freed = 0
    for _, size, p in sorted(files):
        if total - freed <= max_size:
            break
        for q in (p, p.with_name(p.name + ".head")):
            q.unlink(missing_ok=True)
        freed += size
    return freed


def guest_setup_command(enabled: bool) -> str:
    """The root command that points a guest's apt at the cache (or removes that setting). The helper answers
    DIRECT when the cache does not answer within a second, so a stopped cache costs a second, not a step."""
    if not enabled:
        return f"rm -f {GUEST_CONF} {GUEST_HELPER}"
    helper = ("#!/bin/sh\n"
              "# doctest-runner: the host's package cache when it answers, else straight to the origin\n"
              f"if timeout 1 bash -c 'exec 3<>/dev/tcp/{GUEST_HOST}/{PORT}' 2>/dev/null; "
              f"then echo http://{GUEST_HOST}:{PORT}; else echo DIRECT; fi\n")
    conf = ("// doctest-runner: http package downloads through the host's cache (apt-cacher-ng)\n"
            f'Acquire::http::Proxy-Auto-Detect "{GUEST_HELPER}";\n')
    return (f"mkdir -p {Path(GUEST_HELPER).parent} && printf %s {shlex.quote(helper)} > {GUEST_HELPER} && "
            f"chmod 755 {GUEST_HELPER} && printf %s {shlex.quote(conf)} > {GUEST_CONF}")


def traffic(since: float, until: float | None = None) -> tuple[int, int]:
    """(bytes fetched from the origins, bytes served to guests) that apt-cacher-ng logged from `since` to
    `until` (time.time() seconds): a warm cache serves much and fetches little. Its log has one
    `time|I or O|bytes|client|path` line per transfer; anything else in it is skipped."""
    fetched = served = 0
    try:
        lines = (root() / "log" / "apt-cacher.log").read_text(errors="replace").splitlines()
    except OSError:
        return 0, 0
    for line in lines:
        parts = line.split("|", 4)
        if len(parts) < 3 or not parts[0].isdigit() or not parts[2].isdigit():
            continue
        t = int(parts[0])
        if t < int(since) or (until is not None and t > until):
            continue
        if parts[1] == "I":
            fetched += int(parts[2])
        elif parts[1] == "O":
            served += int(parts[2])
    return fetched, served
