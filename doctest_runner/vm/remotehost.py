"""Guides on other libvirt hosts (`run --host qemu+ssh://user@host/system`): the connection to such a host
(libvirt plus SSH), its image pool, the SSH tunnel to a guest, the records and reaping of our VMs there, and
the scheduler of VM slots across hosts. The machine itself is vm/providers/remote.py.

Why this shape: the exec layer only knows "an SSH endpoint on 127.0.0.1". So a remote VM gets a local
listening socket whose connections are forwarded through the host's SSH connection (paramiko
`direct-tcpip`) to the remote host's 127.0.0.1:<hostfwd port>; everything above `boot` stays unchanged.

On the remote host:
  - a libvirt `dir` storage pool (default `doctest-runner` in /var/lib/libvirt/images/doctest-runner;
    $DOCTEST_RUNNER_REMOTE_POOL / $DOCTEST_RUNNER_REMOTE_POOL_DIR override) holds the image files, keyed by
    image name and recipe hash, uploaded once with `vol.upload` (a stream over the libvirt connection)
    into a `.part-*` volume and renamed into place over SFTP, so a half-done upload is never used;
  - per VM: an overlay volume with the cached base as backing store, a transient domain named
    `doctest-remote-<run id>`, and its console log file, fetched back into the artifacts at the end.
Cleanup (domain, overlay, console file) runs after success, failure, Ctrl-C and SIGTERM. A harness killed
with -9 leaves an owner record under <cache>/remote/<host>/<vm>/ here; `reap_remote` acts on it later.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import secrets
import select
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import paramiko

from doctest_runner.image import BuiltImage, file_lock, remove_tree
from doctest_runner.paths import cache_root
from doctest_runner.model import DoctestError, HostInfo
from doctest_runner.vm.state import read_owner, reapable
from doctest_runner.wait import WaitTimeout, poll

REMOTE_PREFIX = "doctest-remote-"
DEFAULT_POOL = "doctest-runner"
DEFAULT_POOL_DIR = "/var/lib/libvirt/images/doctest-runner"
HEADROOM_MB = 1024  # per VM beyond its memory (qemu itself, TCG translation cache)
MAX_SLOTS = 8
PORT_RANGE = (20000, 59999)
REMOTE_FILE = "remote.json"

Log = Callable[[str], None]


# --- host URIs -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HostSpec:
    """A remote libvirt host as given by `--host`, plus where its images live."""

    uri: str
    hostname: str
    port: int
    user: str
    keyfile: Path | None = None
    no_verify: bool = False
    known_hosts: Path | None = None
    pool: str = DEFAULT_POOL
    pool_dir: str = DEFAULT_POOL_DIR

    @property
    def label(self) -> str:
        """user@host:port, for messages (the URI's query can be long)."""
        return f"{self.user}@{self.hostname}:{self.port}"

    @property
    def key(self) -> str:
        """A directory-safe name for this host's local owner records."""
        return re.sub(r"[^A-Za-z0-9._@-]+", "_", f"{self.user}@{self.hostname}_{self.port}")


def parse_host(uri: str, env: dict[str, str] | None = None) -> HostSpec:
    """Check a `--host` URI (qemu+ssh only: the guest's SSH is tunnelled through that SSH connection)."""
    env = dict(os.environ) if env is None else env
    parts = urlsplit(uri)
    if parts.scheme != "qemu+ssh":
        raise DoctestError(f"--host {uri!r}: expected qemu+ssh://[user@]host[:port]/system")
    if not parts.hostname:
        raise DoctestError(f"--host {uri!r}: no host name")
    if parts.path not in ("/system", "/session"):
        raise DoctestError(f"--host {uri!r}: the path must be /system or /session")
    try:
        port = parts.port or 22
    except ValueError:
        raise DoctestError(f"--host {uri!r}: bad port") from None
    q = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    keyfile = Path(q["keyfile"]).expanduser() if q.get("keyfile") else None
    if keyfile is not None and not keyfile.is_file():
        raise DoctestError(f"--host {uri!r}: keyfile {keyfile} not found")
    pool = env.get("DOCTEST_RUNNER_REMOTE_POOL") or DEFAULT_POOL
    pool_dir = env.get("DOCTEST_RUNNER_REMOTE_POOL_DIR") or (DEFAULT_POOL_DIR if pool == DEFAULT_POOL
                                                              else f"/var/lib/libvirt/images/{pool}")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", pool) or not pool_dir.startswith("/"):
        raise DoctestError(f"remote pool {pool!r} at {pool_dir!r}: a plain name and an absolute directory")
    return HostSpec(uri=uri, hostname=parts.hostname, port=port, user=unquote(parts.username or getpass.getuser()),
                    keyfile=keyfile, no_verify=q.get("no_verify", "0") not in ("", "0"),
                    known_hosts=Path(q["known_hosts"]).expanduser() if q.get("known_hosts") else None,
                    pool=pool, pool_dir=pool_dir)


# --- pure decisions ------------------------------------------------------------------------------------

def slots_for(free_mb: int, cores: int, memory_mb: int = 2048, cap: int = MAX_SLOTS) -> int:
    """VMs a host can take at once: one per core and per (VM memory + headroom) of free memory."""
    return max(0, min(cores, free_mb // (memory_mb + HEADROOM_MB), cap))


def remote_accel(caps_xml: str, override: str | None = None) -> HostInfo:
    """KVM when the host's libvirt offers kvm domains and its CPU shows vmx/svm, else TCG (as `choose_accel`
    does locally: /dev/kvm without the CPU flags hangs a stock guest kernel)."""
    root = ET.fromstring(caps_xml)
    feats = {f.get("name") for f in root.findall("./host/cpu/feature")}
    flag = next((f for f in ("vmx", "svm") if f in feats), None)
    kvm_domain = any(d.get("type") == "kvm" for d in root.findall("./guest/arch/domain"))
    if override:
        forced = override.strip().lower()
        if forced not in ("kvm", "tcg"):
            raise DoctestError(f"accel {forced!r}: expected kvm or tcg")
        if forced == "kvm":
            if not kvm_domain:
                raise DoctestError("kvm requested but the remote libvirt offers no kvm domains")
            return HostInfo(accel="kvm", why="requested" + ("" if flag else " (warning: host CPU shows no vmx/svm)"),
                            cpu_mode="host-passthrough", nested=None)
        return HostInfo(accel="tcg", why="requested", cpu_mode="maximum",
                        nested="emulated (svm exposed by cpu mode maximum)")
    if kvm_domain and flag:
        return HostInfo(accel="kvm", why=f"host CPU has {flag} and libvirt offers kvm domains",
                        cpu_mode="host-passthrough", nested=None)
    why = ("host CPU has no vmx/svm flags" if not flag else "libvirt offers no kvm domains (no /dev/kvm?)")
    if not flag and kvm_domain:
        why += " (kvm domains are offered but would hang a stock guest kernel)"
    return HostInfo(accel="tcg", why=why, cpu_mode="maximum", nested="emulated (svm exposed by cpu mode maximum)")


def emulator_path(caps_xml: str, arch: str = "x86_64") -> str:
    root = ET.fromstring(caps_xml)
    for guest in root.findall("./guest"):
        a = guest.find("arch")
        if a is not None and a.get("name") == arch and a.findtext("emulator"):
            return a.findtext("emulator") or ""
    raise DoctestError(f"the remote libvirt has no {arch} emulator")


def image_volumes(image: BuiltImage) -> dict[str, tuple[Path, str]]:
    """role -> (local file, pool volume name); names carry the recipe hash, so a changed image is a new upload."""
    stem = f"{image.name}-{image.recipe_hash}"
    out = {"base": (image.base, f"{stem}.base.qcow2")}
    if image.kernel:
        out["kernel"] = (image.kernel, f"{stem}.vmlinuz")
    if image.initrd:
        out["initrd"] = (image.initrd, f"{stem}.initrd.img")
    if image.seed:
        out["seed"] = (image.seed, f"{stem}.seed.iso")
    return out


class Scheduler:
    """Hands each guide the host with the most free slots (local host as None); blocks while all are busy."""

    def __init__(self, slots: dict[str | None, int]):
        self._free = {h: n for h, n in slots.items() if n > 0}
        if not self._free:
            raise DoctestError("no host has room for a VM (free memory / VM memory, cores)")
        self._order = list(self._free)
        self._cond = threading.Condition()

    @property
    def total(self) -> int:
        return sum(self._free.values())

    def acquire(self) -> str | None:
        with self._cond:
            while max(self._free.values()) <= 0:
                self._cond.wait()
            best = max(self._order, key=lambda h: (self._free[h], -self._order.index(h)))
            self._free[best] -= 1
            return best

    def release(self, host: str | None) -> None:
        with self._cond:
            self._free[host] += 1
            self._cond.notify()


# --- the SSH side: tunnels and files --------------------------------------------------------------------

def ssh_client(spec: HostSpec, timeout: float = 20) -> paramiko.SSHClient:
    """A paramiko client logged into the host as the URI says (same key, same host key rules as libvirt's)."""
    client = paramiko.SSHClient()
    if spec.no_verify:
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    else:
        with contextlib.suppress(OSError):
            client.load_system_host_keys()
        if spec.known_hosts is not None:
            with contextlib.suppress(OSError):
                client.load_host_keys(str(spec.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    kw: dict[str, Any] = {}
    if spec.keyfile is not None:
        kw = {"key_filename": str(spec.keyfile), "allow_agent": False, "look_for_keys": False}
    try:
        client.connect(spec.hostname, port=spec.port, username=spec.user, timeout=timeout, banner_timeout=timeout,
                       auth_timeout=timeout, **kw)
    except paramiko.SSHException as exc:
        client.close()
        hint = " (unknown host key: add it to ~/.ssh/known_hosts or put no_verify=1 in the URI)" \
            if "not found in known_hosts" in str(exc) else ""
        raise DoctestError(f"cannot log into {spec.label} over SSH: {exc}{hint}") from None
    except OSError as exc:
        client.close()
        raise DoctestError(f"cannot reach {spec.label} over SSH: {exc}") from None
    transport = client.get_transport()
    assert transport is not None
    transport.set_keepalive(30)
    return client


class Forwarder:
    """127.0.0.1:<local_port> here -> direct-tcpip channel -> dest_host:dest_port as seen from the SSH host."""

    def __init__(self, transport: paramiko.Transport, dest_host: str, dest_port: int):
        self.transport = transport
        self.dest = (dest_host, dest_port)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(32)
        self.port: int = self._sock.getsockname()[1]
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._open: set[Any] = set()
        self._thread = threading.Thread(target=self._accept_loop, name=f"fwd-{self.port}", daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                ready, _, _ = select.select([self._sock], [], [], 0.5)
                if not ready:
                    continue
                conn, addr = self._sock.accept()
            except (OSError, ValueError):
                return  # listening socket closed
            threading.Thread(target=self._serve, args=(conn, addr), daemon=True).start()

    def _serve(self, conn: socket.socket, addr: tuple[str, int]) -> None:
        try:
            chan = self.transport.open_channel("direct-tcpip", self.dest, addr, timeout=15)
        except Exception:  # nothing listens there yet, or the SSH connection is gone: the client sees EOF
            conn.close()
            return
        with self._lock:
            if self._closed.is_set():
                conn.close()
                chan.close()
                return
            self._open.update((conn, chan))
        try:
            while not self._closed.is_set():
                ends: list[socket.socket | paramiko.Channel] = [conn, chan]
                r, _, _ = select.select(ends, [], [], 0.5)
                if conn in r:
                    data = conn.recv(65536)
                    if not data:
                        break
                    chan.sendall(data)
                if chan in r:
                    data = chan.recv(65536)
                    if not data:
                        break
                    conn.sendall(data)
        except (OSError, EOFError, paramiko.SSHException):
            pass
        finally:
            with self._lock:
                self._open.discard(conn)
                self._open.discard(chan)
            with contextlib.suppress(Exception):
                chan.close()
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with self._lock:
            items, self._open = list(self._open), set()
        for item in items:
            with contextlib.suppress(Exception):
                item.close()
        self._thread.join(timeout=2)


# --- one connection to a remote host --------------------------------------------------------------------

@dataclass
class Probe:
    """What a host offers a run: acceleration, room for VMs, and why."""

    uri: str
    label: str
    host: HostInfo
    free_mb: int
    cores: int
    slots: int
    libvirt_version: str


class RemoteHost:
    """A libvirt connection plus a paramiko SSH connection to the same host; close() ends both."""

    def __init__(self, spec: HostSpec):
        self.spec = spec
        self.conn: Any = None
        self.ssh: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._caps: str | None = None

    def open(self) -> RemoteHost:
        import libvirt  # lazy: libvirt-python, the optional `vm` extra

        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        try:
            self.conn = libvirt.open(self.spec.uri)
        except libvirt.libvirtError as exc:
            raise DoctestError(f"cannot connect to libvirt at {self.spec.label}: {exc.get_error_message()}") from None
        try:
            self.ssh = ssh_client(self.spec)
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> RemoteHost:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for obj in (self._sftp, self.ssh):
            if obj is not None:
                with contextlib.suppress(Exception):
                    obj.close()
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self._sftp = self.ssh = self.conn = None

    @property
    def transport(self) -> paramiko.Transport:
        assert self.ssh is not None
        t = self.ssh.get_transport()
        if t is None or not t.is_active():
            raise DoctestError(f"the SSH connection to {self.spec.label} is gone")
        return t

    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            assert self.ssh is not None
            self._sftp = self.ssh.open_sftp()
        return self._sftp

    def caps(self) -> str:
        if self._caps is None:
            self._caps = self.conn.getCapabilities()
        return self._caps

    def probe(self, memory_mb: int = 2048, accel: str | None = None) -> Probe:
        """Free memory (free + buffers + page cache) and cores decide how many VMs at once."""
        stats = self.conn.getMemoryStats(-1, 0)
        free_kib = stats.get("free", 0) + stats.get("buffers", 0) + stats.get("cached", 0)
        cores = int(self.conn.getInfo()[2])
        v = self.conn.getLibVersion()
        free_mb = free_kib // 1024
        return Probe(uri=self.spec.uri, label=self.spec.label, host=remote_accel(self.caps(), accel),
                     free_mb=free_mb, cores=cores, slots=slots_for(free_mb, cores, memory_mb),
                     libvirt_version=f"{v // 1000000}.{v // 1000 % 1000}.{v % 1000}")

    # -- storage --
    def pool(self) -> Any:
        """The image pool, defined (persistent, autostart) and started if needed."""
        import libvirt  # lazy: libvirt-python, the optional `vm` extra

        try:
            pool = self.conn.storagePoolLookupByName(self.spec.pool)
        except libvirt.libvirtError:
            xml = (f"<pool type='dir'><name>{self.spec.pool}</name>"
                   f"<target><path>{self.spec.pool_dir}</path></target></pool>")
            try:
                pool = self.conn.storagePoolDefineXML(xml, 0)
                pool.build(0)
                pool.setAutostart(1)
            except libvirt.libvirtError as exc:
                try:  # another process may have defined it meanwhile
                    pool = self.conn.storagePoolLookupByName(self.spec.pool)
                except libvirt.libvirtError:
                    raise DoctestError(f"cannot define storage pool {self.spec.pool} on {self.spec.label}: "
                                       f"{exc.get_error_message()}") from None
        if not pool.isActive():
            with contextlib.suppress(libvirt.libvirtError):  # lost a race to start it is fine
                pool.create(0)
        return pool

    def pool_dir(self, pool: Any) -> str:
        return ET.fromstring(pool.XMLDesc(0)).findtext("./target/path") or self.spec.pool_dir

    def volume(self, pool: Any, name: str) -> Any | None:
        import libvirt  # lazy: libvirt-python, the optional `vm` extra

        try:
            return pool.storageVolLookupByName(name)
        except libvirt.libvirtError:
            return None

    def upload(self, pool: Any, local: Path, name: str, log: Log | None = None) -> None:
        """Copy a file into the pool as `name`: stream into a `.part-*` volume, then rename it into place."""
        import libvirt  # lazy: libvirt-python, the optional `vm` extra

        size = local.stat().st_size
        part = f".part-{secrets.token_hex(4)}-{name}"
        vol = pool.createXML(f"<volume><name>{part}</name><capacity unit='bytes'>{size}</capacity>"
                             "<target><format type='raw'/></target></volume>", 0)
        t0 = time.monotonic()
        try:
            stream = self.conn.newStream(0)
            vol.upload(stream, 0, size, 0)
            with open(local, "rb") as fh:
                stream.sendAll(lambda _st, n, f: f.read(n), fh)
            stream.finish()
            directory = self.pool_dir(pool)
            self.sftp().posix_rename(f"{directory}/{part}", f"{directory}/{name}")
        except BaseException:
            with contextlib.suppress(libvirt.libvirtError):
                vol.delete(0)
            raise
        finally:
            with contextlib.suppress(libvirt.libvirtError):
                pool.refresh(0)
        if log:
            dt = time.monotonic() - t0
            log(f"{self.spec.label}: uploaded {local.name} ({size / 1e6:.0f} MB in {dt:.1f} s, "
                f"{size / 1e6 / max(dt, 1e-3):.0f} MB/s)")

    def ensure_image(self, image: BuiltImage, log: Log | None = None) -> dict[str, str]:
        """Remote paths of the image's files (role -> path), uploading the ones the pool lacks."""
        pool = self.pool()
        lock = cache_root() / "remote" / self.spec.key / ".locks" / f"{image.name}-{image.recipe_hash}.lock"
        out: dict[str, str] = {}
        with file_lock(lock, log, f"the upload of {image.name} to {self.spec.label}"):
            with contextlib.suppress(Exception):
                pool.refresh(0)
            for role, (local, name) in image_volumes(image).items():
                vol = self.volume(pool, name)
                if vol is None:
                    if log:
                        log(f"{self.spec.label}: {name} missing in pool {self.spec.pool}, uploading")
                    self.upload(pool, local, name, log)
                    vol = self.volume(pool, name)
                    if vol is None:
                        raise DoctestError(f"upload of {name} to {self.spec.label} left no volume")
                out[role] = vol.path()
        return out


def remove_remote_vm(rh: RemoteHost, name: str, pool: Any, overlay_vol: Any, console: str,
                      fetch_to: Path | None = None) -> bool:
    """Domain gone, console fetched and deleted, overlay volume deleted; True when all of that worked."""
    import libvirt  # lazy: libvirt-python, the optional `vm` extra

    ok = True
    try:
        dom = rh.conn.lookupByName(name)
    except libvirt.libvirtError:
        dom = None
    if dom is not None:
        with contextlib.suppress(libvirt.libvirtError):
            dom.destroy()

        def gone() -> bool | None:  # transient: gone from the list once qemu has exited
            try:
                rh.conn.lookupByName(name)
            except libvirt.libvirtError:
                return True
            return None

        try:
            poll(gone, timeout=20, interval=0.2, what=f"domain {name} on {rh.spec.label} to go")
        except WaitTimeout:
            ok = False
    if console:
        try:
            sftp = rh.sftp()
            if fetch_to is not None:
                with contextlib.suppress(OSError):
                    sftp.get(console, str(fetch_to))
            with contextlib.suppress(FileNotFoundError):
                sftp.remove(console)
        except Exception:
            ok = False
    if pool is None:
        with contextlib.suppress(Exception):
            pool = rh.pool()
    if pool is not None:
        with contextlib.suppress(libvirt.libvirtError):
            pool.refresh(0)
        if overlay_vol is None:
            with contextlib.suppress(libvirt.libvirtError):
                overlay_vol = pool.storageVolLookupByName(f"{name}.overlay.qcow2")
        if overlay_vol is not None:
            try:
                overlay_vol.delete(0)
            except libvirt.libvirtError as exc:
                if "not found" not in (exc.get_error_message() or "").lower():
                    ok = False
        with contextlib.suppress(libvirt.libvirtError):
            pool.refresh(0)
    return ok


def records_dir(spec: HostSpec) -> Path:
    d = cache_root() / "remote" / spec.key
    d.mkdir(parents=True, exist_ok=True)
    return d


def read_record(vmdir: Path) -> dict | None:
    try:
        return json.loads((vmdir / REMOTE_FILE).read_text())
    except (OSError, ValueError):
        return None


def reap_remote(spec: HostSpec, rh: RemoteHost | None = None, *,
                include_kept: bool | Collection[str] = False) -> list[str]:
    """Remove this host's VMs whose local owner process is dead (domain, overlay, console file there).
    Only VMs with an owner record here are touched: other harnesses' VMs on the same host are not ours."""
    stale = []
    for d in sorted(records_dir(spec).iterdir()):
        if not (d.is_dir() and d.name.startswith(REMOTE_PREFIX)):
            continue
        owner = read_owner(d)
        if owner is None:
            # died between mkdir and the record: nothing was created there yet once it is old
            if time.time() - d.stat().st_mtime > 600:
                remove_tree(d)
            continue
        if reapable(d.name, owner, include_kept):
            stale.append(d)
    if not stale:
        return []
    own = rh is None
    removed = []
    try:
        if own:
            rh = RemoteHost(spec).open()
        assert rh is not None
        for d in stale:
            rec = read_record(d) or {}
            if remove_remote_vm(rh, d.name, None, None, rec.get("console", "")):
                remove_tree(d)
                removed.append(d.name)
    finally:
        if own and rh is not None:
            rh.close()
    return removed


def probe_hosts(uris: list[str], memory_mb: int = 2048, accel: str | None = None) -> list[Probe]:
    """Connect to each host once, before anything boots: a wrong URI fails the run early, in one line."""
    out = []
    for uri in uris:
        with RemoteHost(parse_host(uri)) as rh:
            out.append(rh.probe(memory_mb, accel))
    return out
