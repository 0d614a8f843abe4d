"""Fresh machines in seconds: save a booted VM once (memory + disk), restore it onto a new overlay per VM.

Why it looks like this:
- libvirt's `restoreFlags(file, dxml)` refuses a changed <uuid> (ABI check), and two VMs with one uuid cannot
  run at once. So each restore gets its own copy of the save image whose embedded domain XML is rewritten
  (name, uuid, overlay, console log, forwarded SSH port); the ~200 MB copy takes ~0.1 s from the page cache
  (copy_file_range) and is deleted as soon as qemu has loaded it.
- Disk: base <- saved layer (never written again) <- per-VM overlay. Layers live in `<cache>/layers/` and a
  saved machine lists the chain it needs, so checkpoints taken on top of a restored VM share the layers below.
- A restored guest is a clone: after restore we set its clock from the host, give it a new machine id and new
  SSH host keys (generated on the host while qemu loads), mix host randomness into its pool, and reload sshd.
- Anything wrong with a saved state (other recipe hash, qemu version, accel, memory, build version; missing or
  corrupt files; restore error) falls back to a cold boot, and the log says why.

Cache layout: <cache>/states/<key>/{memory.sav,meta.json}, <cache>/checkpoints/<key>/{memory.sav,meta.json},
<cache>/layers/<id>.qcow2. `meta.json`'s mtime is the entry's last use (LRU).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from doctest_runner.image.cache import BuiltImage, cache_root, file_lock, remove_tree
from doctest_runner.model import DoctestError, HostInfo
from doctest_runner.vm.accel import choose_accel
from doctest_runner.vm.domain import QEMU_NS
from doctest_runner.vm.state import PREFIX, vms_dir, write_owner

# Bump when the domain XML (vm/domain.py) or what a saved state contains changes: old states become stale.
BUILD_VERSION = 1
SAVE_MAGIC = b"LibvirtQemudSave"
HEADER = struct.Struct("<16s5I56s")  # magic, version, data_len, was_running, compressed, cookieOffset, unused
LAYERS_FILE = "layers.json"  # in a VM's directory: the saved layers under its overlay (kept while it runs)

Log = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


# --- keys and metadata (pure) ----------------------------------------------------------------------------

_qemu_version: str | None = None


def qemu_version(emulator: str = "qemu-system-x86_64") -> str:
    """The emulator's version line (a saved state only loads into the qemu that wrote it)."""
    global _qemu_version
    if _qemu_version is None:
        try:
            out = subprocess.run([emulator, "--version"], capture_output=True, text=True, timeout=30).stdout
            _qemu_version = out.splitlines()[0].strip() if out else "unknown"
        except (OSError, subprocess.SubprocessError):
            _qemu_version = "unknown"
    return _qemu_version


@dataclass(frozen=True)
class StateKey:
    """Everything a saved booted machine depends on; its hash names the cache entry."""

    image: str
    recipe_hash: str
    qemu: str
    accel: str
    memory_mb: int
    vcpus: int
    build: int = BUILD_VERSION

    def digest(self) -> str:
        raw = json.dumps(asdict(self), sort_keys=True).encode()
        return f"{self.image}-{hashlib.sha256(raw).hexdigest()[:16]}"

    def differences(self, other: dict) -> list[str]:
        """Human-readable fields in which a stored state's key differs from this one."""
        names = {"recipe_hash": "recipe hash", "qemu": "QEMU version", "accel": "accel", "memory_mb": "memory",
                 "vcpus": "vcpus", "build": "domain-XML/build version"}
        mine = asdict(self)
        return [f"{names[k]} {other.get(k)!r} -> {mine[k]!r}" for k in names if other.get(k) != mine[k]]


@dataclass
class SavedMachine:
    """A saved running VM: its memory image plus the disk layers below it (top last)."""

    path: Path  # entry directory (holds memory.sav and meta.json)
    chain: list[str]  # layer file names in <cache>/layers, bottom first
    image: str
    recipe_hash: str
    base: str  # the image base under the bottom layer
    accel: str
    memory_mb: int
    vcpus: int
    qemu: str
    build: int
    user: str
    key: dict = field(default_factory=dict)  # StateKey fields (saved states) or checkpoint key parts
    session_dir: str = ""  # the guide's session directory in the guest (checkpoints)
    steps_done: int = 0  # checkpoints: how many steps of the sequence ran before it
    created: float = 0.0
    ready_seconds: float | None = None  # measured when it was made

    @property
    def memory(self) -> Path:
        return self.path / "memory.sav"

    def top_layer(self) -> Path:
        return layers_dir() / self.chain[-1]

    def touch(self) -> None:
        """Mark as used now (LRU)."""
        with contextlib.suppress(OSError):
            os.utime(self.path / "meta.json")

    def write(self) -> None:
        d = {k: v for k, v in asdict(self).items() if k != "path"}
        tmp = self.path / ".meta.json.tmp"
        tmp.write_text(json.dumps(d, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.path / "meta.json")

    @classmethod
    def load(cls, path: Path) -> SavedMachine | None:
        try:
            d = json.loads((path / "meta.json").read_text())
            return cls(path=path, **d)
        except (OSError, ValueError, TypeError):
            return None

    def problems(self) -> list[str]:
        """Why this entry cannot be restored as it is (missing or corrupt files)."""
        out = []
        try:
            with open(self.memory, "rb") as f:
                head = f.read(HEADER.size)
            if len(head) < HEADER.size or not head.startswith(SAVE_MAGIC):
                out.append(f"{self.memory} is not a libvirt save image")
        except OSError:
            out.append(f"{self.memory} is missing")
        for layer in self.chain:
            if not (layers_dir() / layer).is_file():
                out.append(f"disk layer {layer} is missing")
        if not Path(self.base).is_file():
            out.append(f"image base {self.base} is missing")
        return out


def states_dir() -> Path:
    return _mk(cache_root() / "states")


def checkpoints_dir() -> Path:
    return _mk(cache_root() / "checkpoints")


def layers_dir() -> Path:
    return _mk(cache_root() / "layers")


def _mk(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    return d


# --- the save image and its XML (pure but for file I/O) --------------------------------------------------


def _read_save_header(f: Any, path: Path) -> tuple[tuple[int, ...], bytes, str]:
    """A save image's header fields, its XML-and-cookie area, and the domain XML in it."""
    head = f.read(HEADER.size)
    if len(head) < HEADER.size or not head.startswith(SAVE_MAGIC):
        raise DoctestError(f"{path}: not a libvirt save image")
    fields = HEADER.unpack(head)
    data_len, cookie_off = fields[2], fields[5]
    data = f.read(data_len)
    if len(data) != data_len:
        raise DoctestError(f"{path}: truncated save image header")
    return fields, data, data[:cookie_off].split(b"\0", 1)[0].decode()


def read_save_xml(path: Path) -> str:
    """The domain XML embedded in a libvirt save image."""
    with open(path, "rb") as f:
        return _read_save_header(f, path)[2]


def rewrite_save_image(src: Path, dst: Path, transform: Callable[[str], str]) -> None:
    """Copy a save image with its embedded domain XML replaced by `transform(xml)`; the migration stream after
    the header is copied in the kernel (copy_file_range), so this costs about one page-cache read."""
    with open(src, "rb") as f:
        fields, data, xml = _read_save_header(f, src)
        magic, version, data_len, running, compressed, cookie_off, unused = fields
        cookie = data[cookie_off:].split(b"\0", 1)[0] if cookie_off else b""
        new_xml = transform(xml).encode() + b"\0"
        body = new_xml + (cookie + b"\0" if cookie else b"")
        if len(body) > data_len:
            raise DoctestError(f"{src}: rewritten domain XML does not fit the save image header")
        body += b"\0" * (data_len - len(body))
        cookie_new = len(new_xml) if cookie else 0
        offset = HEADER.size + data_len
        size = os.fstat(f.fileno()).st_size
        with open(dst, "wb") as out:
            out.write(HEADER.pack(magic, version, data_len, running, compressed, cookie_new, unused))
            out.write(body)
            out.flush()
            remaining = size - offset
            while remaining > 0:
                n = os.copy_file_range(f.fileno(), out.fileno(), remaining, offset)
                if n == 0:
                    break
                offset += n
                remaining -= n
            if remaining:
                raise DoctestError(f"{src}: short copy of the save image")


def retarget_xml(xml: str, *, name: str, overlay: Path, console_log: Path, ssh_port: int,
                 domain_uuid: str | None = None) -> str:
    """The saved domain, renamed onto its own uuid, overlay, console log and forwarded SSH port."""
    ET.register_namespace("qemu", QEMU_NS)
    root = ET.fromstring(xml)
    root.find("name").text = name  # type: ignore[union-attr]
    u = root.find("uuid")
    if u is not None:
        u.text = domain_uuid or str(uuid.uuid4())
    disks = [d for d in root.findall("./devices/disk") if d.get("device", "disk") == "disk"]
    if len(disks) != 1:
        raise DoctestError(f"saved domain has {len(disks)} disks, expected 1")
    src = disks[0].find("source")
    if src is None:
        raise DoctestError("saved domain disk has no source")
    src.set("file", str(overlay))
    for bs in disks[0].findall("backingStore"):  # libvirt reads the new overlay's chain itself
        disks[0].remove(bs)
    for tag in ("serial", "console"):
        for dev in root.findall(f"./devices/{tag}"):
            s = dev.find("source")
            if s is not None and s.get("path"):
                s.set("path", str(console_log))
    found = False
    for arg in root.iter(f"{{{QEMU_NS}}}arg"):
        v = arg.get("value", "")
        if "hostfwd=tcp:127.0.0.1:" in v:
            parts = [f"hostfwd=tcp:127.0.0.1:{ssh_port}-:22" if p.startswith("hostfwd=tcp:127.0.0.1:") else p
                     for p in v.split(",")]
            arg.set("value", ",".join(parts))
            found = True
    if not found:
        raise DoctestError("saved domain has no forwarded SSH port")
    return ET.tostring(root, encoding="unicode")


# --- taking a save -------------------------------------------------------------------------------------


def save_running(machine: Any, entry_dir: Path, *, chain_below: list[str]) -> list[str]:
    """Save `machine` (it stops), move its overlay into the layers store; returns the entry's layer chain.
    The caller writes the meta; the entry directory's memory.sav is written in place."""
    entry_dir.mkdir(parents=True, exist_ok=True)
    tmp = entry_dir / f".memory.{os.getpid()}.{threading.get_ident()}.tmp"
    machine._dom.save(str(tmp))
    os.replace(tmp, entry_dir / "memory.sav")
    layer = f"{uuid.uuid4().hex}.qcow2"
    shutil.move(str(machine.overlay), str(layers_dir() / layer))
    return [*chain_below, layer]


def checkpoint_running(machine: Any, entry_dir: Path, *, chain_below: list[str]) -> list[str]:
    """Save `machine` without stopping it; returns the entry's layer chain (like save_running).

    An external libvirt snapshot: the guest pauses while its memory goes to entry_dir/memory.sav (a save image,
    restored like any other), its overlay so far becomes a layer (hard-linked into the layers store first, so it
    is the same file), and it resumes on a new overlay above that layer, its SSH sessions untouched. Saves the
    stop, restore, new identity and new login that save_running costs. Raises DoctestError when libvirt
    refuses (the caller falls back to save_running) with nothing left behind."""
    import libvirt

    entry_dir.mkdir(parents=True, exist_ok=True)
    layer = f"{uuid.uuid4().hex}.qcow2"
    frozen = layers_dir() / layer
    new = machine.overlay.with_name(f"overlay-{layer}")
    tmp = entry_dir / f".memory.{os.getpid()}.{threading.get_ident()}.tmp"
    os.link(machine.overlay, frozen)
    try:
        capacity = machine._dom.blockInfo(str(machine.overlay))[0]
        # -u: the running VM holds the backing file's write lock; the new overlay names the layer, not the VM dir
        res = subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "qcow2", "-b", str(frozen),
                              str(new), str(capacity)], capture_output=True, text=True)
        if res.returncode != 0:
            raise DoctestError(f"qemu-img create failed for {new}: {res.stderr.strip()}")
        xml = (f"<domainsnapshot><name>{layer[:-6]}</name><memory snapshot='external' file='{tmp}'/><disks>"
               f"<disk name='vda' snapshot='external' type='file'><driver type='qcow2'/>"
               f"<source file='{new}'/></disk></disks></domainsnapshot>")
        machine._dom.snapshotCreateXML(xml, libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA
                                       | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT)
    except (libvirt.libvirtError, DoctestError, OSError) as exc:
        frozen.unlink(missing_ok=True)
        new.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
        msg = exc.get_error_message() if isinstance(exc, libvirt.libvirtError) else str(exc)
        raise DoctestError(f"live checkpoint of {machine.name} refused: {(msg or str(exc)).strip()}") from None
    os.replace(tmp, entry_dir / "memory.sav")
    machine.overlay = new
    chain = [*chain_below, layer]
    if machine._vmdir is not None:  # prune must keep the layers a running VM stands on
        (machine._vmdir / LAYERS_FILE).write_text(json.dumps(chain))
    return chain


def _guest(machine: Any, command: str, *, user: str | None = "root", timeout: float = 60,
           stdin: bytes | None = None) -> tuple[int, str]:
    client = machine.connect(user=user, timeout=min(timeout, 15))
    try:
        i, o, _ = client.exec_command(command, timeout=timeout)
        if stdin is not None:
            i.write(stdin)
            i.channel.shutdown_write()
        out = o.read().decode(errors="replace")
        return o.channel.recv_exit_status(), out
    finally:
        client.close()


def ensure_state(image: BuiltImage, *, accel: str | None = None, memory_mb: int = 2048, vcpus: int = 2,
                 boot_timeout: float = 300, log: Log = _quiet) -> SavedMachine:
    """The saved booted machine for this image/qemu/accel/memory, made now (one cold boot + save) if missing.
    Stale states of the same image (other recipe hash, qemu, build version) are removed, and the log says why."""
    from doctest_runner.vm.machine import boot

    host = choose_accel(accel)
    key = StateKey(image.name, image.recipe_hash, qemu_version(), host.accel, memory_mb, vcpus)
    d = states_dir() / key.digest()
    hit = _valid_state(d, log)
    if hit is not None:
        return hit
    with file_lock(states_dir() / ".locks" / f"{key.digest()}.lock", log=log, what=f"saved state {key.digest()}"):
        hit = _valid_state(d, log)
        if hit is not None:
            return hit
        why = "none yet"
        for other in sorted(states_dir().glob(f"{image.name}-*")):
            old = SavedMachine.load(other)
            if old is None or other == d:
                continue
            diff = key.differences(old.key)
            if any(x.split()[0] in ("recipe", "QEMU", "domain-XML/build") for x in diff):
                log(f"saved state {other.name} is stale ({'; '.join(diff)}): removed")
                remove_tree(other)
                why = "the old one is stale"
        log(f"saving a booted {image.name} machine ({why}): one cold boot, then every VM restores it")
        remove_tree(d)
        work = Path(tempfile.mkdtemp(prefix="state-", dir=states_dir()))
        t0 = time.monotonic()
        try:
            with boot(image, run_id=f"state-{uuid.uuid4().hex[:12]}", workdir=work, accel=accel,
                      memory_mb=memory_mb, vcpus=vcpus, boot_timeout=boot_timeout) as m:
                # let boot-time jobs settle so every restored VM starts from the same quiet machine
                with contextlib.suppress(Exception):
                    _guest(m, "timeout 90 systemctl is-system-running --wait >/dev/null 2>&1; sync", timeout=120)
                chain = save_running(m, work, chain_below=[])
            entry = SavedMachine(path=work, chain=chain, image=image.name, recipe_hash=image.recipe_hash,
                                 base=str(image.base), accel=host.accel, memory_mb=memory_mb, vcpus=vcpus,
                                 qemu=key.qemu, build=BUILD_VERSION, user=image.user, key=asdict(key),
                                 created=time.time())
            for p in work.glob("*.console.log"):
                p.unlink()
            entry.write()
            os.replace(work, d)
            entry.path = d
        except BaseException:
            remove_tree(work)
            raise
        log(f"saved state {d.name} in {time.monotonic() - t0:.0f} s")
        return entry


def _valid_state(d: Path, log: Log) -> SavedMachine | None:
    entry = SavedMachine.load(d)
    if entry is None:
        return None
    problems = entry.problems()
    if problems:
        log(f"saved state {d.name} is unusable ({'; '.join(problems)}): removed")
        remove_tree(d)
        return None
    return entry


def discard(entry: SavedMachine, log: Log, why: str) -> None:
    """Remove a saved machine that failed to restore, so the next VM does not try it again."""
    log(f"saved machine {entry.path.name} removed: {why}")
    remove_tree(entry.path)


# --- restoring ---------------------------------------------------------------------------------------


class RestoreError(Exception):
    """The saved machine could not be brought up (the caller falls back to a cold boot)."""


def _host_keys(workdir: Path) -> dict[str, tuple[str, str]]:
    """New SSH host keys, generated on the host (an RSA key takes seconds under TCG, milliseconds here)."""
    keys = {}
    for kind, bits in (("ed25519", []), ("ecdsa", ["-b", "256"]), ("rsa", ["-b", "3072"])):
        p = workdir / f"ssh_host_{kind}_key"
        res = subprocess.run(["ssh-keygen", "-q", "-t", kind, *bits, "-N", "", "-C", "root@doctest", "-f", str(p)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise RestoreError(f"ssh-keygen failed: {res.stderr.strip()}")
        keys[kind] = (p.read_text(), p.with_suffix(".pub").read_text())
        p.unlink()
        p.with_suffix(".pub").unlink()
    return keys


def identity_script(keys: dict[str, tuple[str, str]], machine_id: str, epoch: float, noise: str) -> str:
    """Root shell script that makes a restored clone its own machine (pure: unit-tested).

    Under TCG every process the guest starts costs tens of milliseconds, so the script uses the shell's
    builtins (printf, read, umask, test) and starts only `date` (and `ln` when journald keeps a journal).
    OpenSSH before 9.8 re-executes itself per connection and the child reads the host keys from disk, so new
    key files are served by the next connection without a reload; with `sshd-session` (9.8+) the listener
    hands its keys over, so there the script reloads sshd and prints `reloaded`."""
    lines = ["set -e", f"date -u -s @{epoch:.3f} >/dev/null", f"printf '%s' '{noise}' > /dev/urandom",
             "read -r old < /etc/machine-id", f"printf '%s\\n' '{machine_id}' > /etc/machine-id",
             # journald keeps writing under the old id until restarted; link the new id to it (no restart: cheap)
             "for d in /run/log/journal /var/log/journal; do if [ -d \"$d/$old\" ]; then "
             f"ln -sfn \"$old\" \"$d/{machine_id}\"; fi; done",
             "for f in /etc/ssh/ssh_host_*_key; do case \"$f\" in "
             + "|".join(f"*_{kind}_key" for kind in keys) + ") ;; *) rm -f \"$f\" \"$f.pub\";; esac; done"]
    for kind, (priv, pub) in keys.items():
        path = f"/etc/ssh/ssh_host_{kind}_key"
        lines += ["umask 077", f"printf '%s\\n' '{priv.strip()}' > {path}",
                  "umask 022", f"printf '%s\\n' '{pub.strip()}' > {path}.pub"]
    lines += ["if [ -e /usr/lib/openssh/sshd-session ] || [ -e /usr/libexec/sshd-session ]; then "
              "read -r pid < /run/sshd.pid; kill -HUP \"$pid\"; echo reloaded; fi"]
    return "\n".join(lines) + "\n"


def _wait_new_host_key(machine: Any, pub: str, deadline: float) -> None:
    """Until sshd serves the new ed25519 key (after its reload): then a session sees the new identity."""

    from doctest_runner.vm.machine import _quiet_paramiko

    want = pub.split()[1]
    last = "no attempt"
    with _quiet_paramiko():
        _wait_key_loop(machine, want, deadline, last)


def _wait_key_loop(machine: Any, want: str, deadline: float, last: str) -> None:
    import paramiko

    from doctest_runner.vm.machine import _ssh_banner

    while time.monotonic() < deadline:
        if not _ssh_banner(machine.ssh_host, machine.ssh_port, 2.0).startswith(b"SSH-"):
            last = "sshd restarting"
            time.sleep(0.05)
            continue
        try:
            t = paramiko.Transport((machine.ssh_host, machine.ssh_port))
            try:
                t.get_security_options().key_types = ["ssh-ed25519"]
                t.start_client(timeout=5)
                if t.get_remote_server_key().get_base64() == want:
                    return
                last = "old host key still served"
            finally:
                t.close()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.1)
    raise RestoreError(f"sshd did not come back with the new host key ({last})")


def refresh_identity(machine: Any, keys: dict[str, tuple[str, str]], timeout: float = 60) -> None:
    """Clock, machine id, randomness and SSH host keys of a restored clone (see identity_script). The first
    login of the restored guest runs it as root: one SSH handshake less than waiting for a login first."""
    import paramiko

    from doctest_runner.vm.machine import _quiet_paramiko, _ssh_banner

    deadline = time.monotonic() + timeout
    last = "no attempt"
    with _quiet_paramiko():
        while True:
            if time.monotonic() > deadline:
                raise RestoreError(f"no SSH login into the restored guest ({last})")
            if not _ssh_banner(machine.ssh_host, machine.ssh_port, 3.0).startswith(b"SSH-"):
                last = "no SSH banner"
                time.sleep(0.05)
                continue
            mid = uuid.uuid4().hex
            script = identity_script(keys, mid, time.time(), os.urandom(64).hex())
            try:
                rc, out = _guest(machine, "sh -s", stdin=script.encode(), timeout=timeout)
                break
            except (paramiko.SSHException, OSError, EOFError) as exc:
                last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.1)
    if rc != 0:
        raise RestoreError(f"could not refresh the clone's identity (exit {rc}): {out.strip()[-300:]}")
    if "reloaded" in out.split():
        _wait_new_host_key(machine, keys["ed25519"][1], time.monotonic() + timeout)
    machine.host_key = keys["ed25519"][1]  # from now on every login checks it (a stale key fails the login)


@contextlib.contextmanager
def restore(entry: SavedMachine, image: BuiltImage, *, run_id: str, workdir: Path | None = None,
            ssh_timeout: float = 60, keep: bool = False, log: Log = _quiet) -> Iterator[Any]:
    """A running VM restored from `entry` on a new overlay, with a new identity; removed afterwards.
    Raises RestoreError (nothing left behind) when it cannot come up."""
    import libvirt

    from doctest_runner.vm.machine import (
        RUN_ID_RE,
        Machine,
        _destroy_by_name,
        _SigtermGuard,
        connect,
        free_port,
        prepare_disk_and_log,
    )

    host = HostInfo(accel=entry.accel, why="restored from a saved machine",
                    cpu_mode="maximum" if entry.accel == "tcg" else "host-passthrough")
    if not RUN_ID_RE.match(run_id):
        raise DoctestError(f"invalid run id {run_id!r} (letters, digits, . _ -; at most 63)")
    name = PREFIX + run_id
    vmdir = vms_dir() / name
    try:
        vmdir.mkdir()
    except FileExistsError:
        raise DoctestError(f"a VM named {name} already exists ({vmdir}); use another run id") from None
    guard = _SigtermGuard()
    machine: Machine | None = None
    conn = None
    t0 = time.monotonic()
    with guard:
        try:
            write_owner(vmdir, name, base=Path(entry.base))
            (vmdir / LAYERS_FILE).write_text(json.dumps(entry.chain))
            entry.touch()
            keys: dict[str, tuple[str, str]] = {}
            keygen_err: list[BaseException] = []

            def gen() -> None:
                try:
                    keys.update(_host_keys(vmdir))
                except BaseException as exc:  # reported below
                    keygen_err.append(exc)

            kt = threading.Thread(target=gen, daemon=True)
            kt.start()
            try:
                overlay, console_log = prepare_disk_and_log(vmdir, Path(entry.top_layer()), workdir, name)
            except DoctestError as exc:
                raise RestoreError(str(exc)) from None
            conn = connect()
            copy = vmdir / "restore.sav"
            port = 0
            for attempt in range(5):
                port = free_port()
                try:
                    rewrite_save_image(entry.memory, copy, lambda x: retarget_xml(
                        x, name=name, overlay=overlay, console_log=console_log, ssh_port=port))
                except (OSError, ET.ParseError, DoctestError) as exc:
                    raise RestoreError(f"cannot read the save image: {exc}") from None
                try:
                    conn.restoreFlags(str(copy), None, libvirt.VIR_DOMAIN_SAVE_RUNNING)
                    break
                except libvirt.libvirtError as exc:
                    msg = exc.get_error_message() or str(exc)
                    _destroy_by_name(conn, name)
                    if "forward" in msg.lower() and attempt < 4:
                        continue
                    raise RestoreError(f"libvirt could not restore it: {msg.strip().splitlines()[-1]}") from None
                finally:
                    copy.unlink(missing_ok=True)
            dom = conn.lookupByName(name)
            machine = Machine(name=name, ssh_host="127.0.0.1", ssh_port=port, user=image.user,
                              key_path=image.key_path, console_log=console_log, overlay=overlay, host=host,
                              image=image, _dom=dom, _conn=conn, _vmdir=vmdir)
            t_restored = time.monotonic()
            try:
                kt.join()
                t_ssh = time.monotonic()
                if keygen_err:
                    raise RestoreError(str(keygen_err[0]))
                refresh_identity(machine, keys, timeout=ssh_timeout)
                if os.environ.get("DOCTEST_RUNNER_TIMING"):
                    log(f"{name}: restore {t_restored - t0:.2f} s, keys {t_ssh - t_restored:.2f} s, "
                        f"identity {time.monotonic() - t_ssh:.2f} s")
            except DoctestError as exc:
                raise RestoreError(str(exc).splitlines()[0]) from None
            machine.boot_seconds = time.monotonic() - t0
            log(f"{name}: restored from {entry.path.name}, SSH ready after {machine.boot_seconds:.1f} s")
            yield machine
        finally:
            guard.shield()
            if keep and machine is not None and not machine._destroyed:
                machine.mark_kept()
            elif machine is not None:
                machine.destroy()
            else:
                _destroy_by_name(conn, name)
                remove_tree(vmdir)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()


@contextlib.contextmanager
def fresh_machine(image: BuiltImage, *, run_id: str, workdir: Path | None = None, accel: str | None = None,
                  memory_mb: int = 2048, vcpus: int = 2, boot_timeout: float = 300, keep: bool = False,
                  fast: bool = True, start_from: SavedMachine | None = None,
                  log: Log = _quiet) -> Iterator[Any]:
    """A fresh VM: restored from `start_from` (a checkpoint) or the image's saved state when `fast`, else (or
    when that fails, which the log says) a cold boot. The Machine's `restored_from` names what it came from."""
    from doctest_runner.vm.machine import boot

    entry = start_from
    if entry is None and fast:
        try:
            entry = ensure_state(image, accel=accel, memory_mb=memory_mb, vcpus=vcpus, boot_timeout=boot_timeout,
                                 log=log)
        except DoctestError as exc:
            log(f"no saved state ({exc}): cold boot")
    if entry is not None:
        host = choose_accel(accel)
        problems = entry.problems()
        if entry.accel != host.accel:
            problems.append(f"saved under {entry.accel}, this run uses {host.accel}")
        if entry.qemu != qemu_version() or entry.build != BUILD_VERSION:
            problems.append("saved by another QEMU or build version")
        if problems:
            log(f"cannot restore {entry.path.name} ({'; '.join(problems)}): cold boot")
            entry = None
    with contextlib.ExitStack() as stack:
        machine = None
        if entry is not None:
            try:
                machine = stack.enter_context(restore(entry, image, run_id=run_id, workdir=workdir,
                                                      ssh_timeout=min(boot_timeout, 90), keep=keep, log=log))
                machine.restored_from = entry
            except RestoreError as exc:
                log(f"restore of {entry.path.name} failed ({exc}): cold boot instead")
                if start_from is None:
                    discard(entry, log, str(exc))
        if machine is None:
            machine = stack.enter_context(boot(image, run_id=run_id, workdir=workdir, accel=accel,
                                               memory_mb=memory_mb, vcpus=vcpus, boot_timeout=boot_timeout,
                                               keep=keep, log=None))
            machine.restored_from = None
        yield machine


def layers_in_use() -> set[str]:
    """Layer files under running VMs (never removed by prune)."""
    from doctest_runner.vm.state import read_owner

    used: set[str] = set()
    for d in vms_dir().iterdir() if vms_dir().is_dir() else []:
        f = d / LAYERS_FILE
        owner = read_owner(d)
        if f.is_file() and owner is not None and (owner.kept or owner.alive()):
            with contextlib.suppress(OSError, ValueError):
                used.update(json.loads(f.read_text()))
    return used
