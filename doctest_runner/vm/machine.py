"""A libvirt VM as the harness holds it (`LibvirtMachine`: SSH endpoint, login, removal) and the local libvirt
plumbing every provider shares: the connection, free ports, overlays, waiting for qemu to go, reaping.

How a machine comes to be (cold boot, restore, remote host) is vm/providers/; the order of its life (claim,
owner record, signal guard, port retry, keep or destroy) is vm/lifecycle.py. Cleanup is the point: the domain
and overlay go away after success, failure, Ctrl-C and SIGTERM; a harness killed with -9 leaves an owner
record that the next `reap_stale` acts on.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paramiko

from doctest_runner.image import BuiltImage, remove_tree
from doctest_runner.model import DoctestError, HostInfo, Machine
from doctest_runner.vm.state import (
    PREFIX,
    Owner,
    qemu_pids,
    read_owner,
    reapable,
    save_owner,
    vms_dir,
)
from doctest_runner.vm import agent
from doctest_runner.vm.domain import DomainSpec, domain_xml
from doctest_runner.vm.lifecycle import StartFailed
from doctest_runner.wait import Deadline, WaitTimeout, poll

if TYPE_CHECKING:  # types only: the store imports this module
    from doctest_runner.vm.store import SavedMachine

ORPHAN_AGE_S = 600


def connect() -> Any:
    """A libvirt connection ($LIBVIRT_DEFAULT_URI or qemu:///system), with a one-line error if libvirtd is down."""
    import libvirt  # lazy: libvirt-python, the optional `vm` extra

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors become exceptions, not stderr noise
    uri = os.environ.get("LIBVIRT_DEFAULT_URI") or "qemu:///system"
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as exc:
        raise DoctestError(f"cannot connect to libvirt at {uri}: {exc.get_error_message()} "
                           "(is libvirtd running? try `doctest-runner doctor --fix`)") from None


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (qemu binds it; a lost race is retried by `boot`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, n: int = 25) -> str:
    try:
        lines = path.read_text(errors="replace").replace("\r", "").splitlines()
    except OSError:
        return "(no console output)"
    return "\n".join(lines[-n:]) or "(console log is empty)"


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


_quiet_lock = threading.Lock()
_quiet_users = 0
_drop_all = _DropAll()


@contextlib.contextmanager
def quiet_paramiko() -> Iterator[None]:
    """paramiko logs every refused banner or connection (a guest booting or rebooting) as an ERROR with a
    traceback; nobody needs those. The one silencer for vm/ and exec/: reference-counted, so VMs in parallel
    threads do not undo each other's silence."""
    global _quiet_users
    lg = logging.getLogger("paramiko.transport")
    with _quiet_lock:
        _quiet_users += 1
        if _quiet_users == 1:
            lg.addFilter(_drop_all)
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_users -= 1
            if _quiet_users == 0:
                lg.removeFilter(_drop_all)


@dataclass
class LibvirtMachine:
    """A running libvirt VM (here or on a remote host): an SSH endpoint plus a way to get rid of it; it offers
    what model.Machine lists, so the rest of the harness types it as that."""

    name: str
    ssh_host: str
    ssh_port: int
    user: str
    key_path: Path
    console_log: Path
    overlay: Path
    host: HostInfo
    image: BuiltImage | None = None
    boot_seconds: float | None = None  # domain start -> ready (first SSH login; a restore: new identity given)
    identity_via: str = ""  # a restored clone's new identity came through "agent" or "ssh" ("" cold boot)
    restored_from: SavedMachine | None = None  # the saved state or checkpoint it was restored from; None: cold boot
    host_key: str | None = None  # "ssh-ed25519 AAAA..." the guest must present (the image's, or a clone's new one)
    domain: Any = field(default=None, repr=False)
    conn: Any = field(default=None, repr=False)
    vmdir: Path | None = field(default=None, repr=False)
    _destroyed: bool = field(default=False, repr=False)

    def is_running(self) -> bool:
        if self.domain is None or self._destroyed:
            return False
        try:
            return bool(self.domain.isActive())
        except Exception:  # libvirt raises once a transient domain is gone
            return False

    def connect(self, user: str | None = None, timeout: float = 10, retry_s: float = 20) -> paramiko.SSHClient:
        """A logged-in paramiko client (key auth) as `user` (default: the image's user).

        A connection reset or refused, or a stale host key, within `retry_s` is retried: sshd can restart just
        after the first login works (cloud-init's ssh module, a reload for new host keys). A refused key is not
        retried: it will not change."""
        pkey = paramiko.Ed25519Key.from_private_key_file(str(self.key_path))
        known = None
        if self.host_key:  # the image's key (cold boot) or a restored clone's new one: a wrong one is refused
            kind, b64 = self.host_key.split()[:2]
            known = (self.ssh_host if self.ssh_port == 22 else f"[{self.ssh_host}]:{self.ssh_port}", kind,
                     paramiko.PKey.from_type_string(kind, base64.b64decode(b64)))
        deadline = Deadline(retry_s)
        while True:
            client = paramiko.SSHClient()
            if known is not None:
                client.get_host_keys().add(*known)
                client.set_missing_host_key_policy(paramiko.RejectPolicy())
            else:
                client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # an image without a recorded key
            try:
                with quiet_paramiko():
                    client.connect(self.ssh_host, port=self.ssh_port, username=user or self.user, pkey=pkey,
                                   timeout=timeout, banner_timeout=timeout, auth_timeout=timeout, allow_agent=False,
                                   look_for_keys=False)
                return client
            except paramiko.AuthenticationException:
                client.close()
                raise
            except (paramiko.SSHException, OSError, EOFError):
                client.close()
                if deadline.expired:
                    raise
                deadline.sleep(0.5)
            except BaseException:
                client.close()
                raise

    def wait_ssh(self, timeout: float = 180) -> None:
        """Return once a key login as the user works; DoctestError with the console's last lines otherwise."""
        deadline = Deadline(timeout)
        last_err = "no attempt"
        with quiet_paramiko():
            while True:
                if not self.is_running():
                    raise DoctestError(f"VM {self.name} stopped while booting; console ({self.console_log}) "
                                       f"ends with:\n{tail(self.console_log)}")
                remaining = deadline.left
                if deadline.expired:
                    raise DoctestError(f"VM {self.name} not reachable over SSH on 127.0.0.1:{self.ssh_port} after "
                                       f"{timeout:.0f} s (last error: {last_err}); console ({self.console_log}) "
                                       f"ends with:\n{tail(self.console_log)}")
                # Cheap probe first: until the guest has its address, slirp accepts the TCP connection
                # but nothing answers, and a full SSH attempt would sit out its banner timeout.
                banner = ssh_banner(self.ssh_host, self.ssh_port, min(3.0, max(0.5, remaining)))
                if not banner.startswith(b"SSH-"):
                    last_err = "no SSH banner yet" if not banner else f"unexpected banner {banner[:40]!r}"
                    deadline.sleep(0.3)
                    continue
                try:
                    client = self.connect(timeout=max(1.0, min(10.0, remaining)), retry_s=0)
                    try:
                        _, out, _ = client.exec_command("true", timeout=max(1.0, min(10.0, remaining)))
                        if out.channel.recv_exit_status() == 0:
                            return
                        last_err = "login works but `true` failed"
                    finally:
                        client.close()
                except (paramiko.SSHException, OSError, EOFError) as exc:
                    last_err = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                deadline.sleep(0.5)

    def mark_kept(self) -> None:
        """Leave this VM to a reviewer: `reap_stale` will not remove it after this process exits
        (only `reap_stale(include_kept=True)` does). The lifecycle calls it for keep=True."""
        if self.vmdir is None:
            return
        owner = read_owner(self.vmdir) or Owner(pid=os.getpid(), start_time=None, domain=self.name,
                                                 created=time.time())
        owner.kept = True
        save_owner(self.vmdir, owner)

    def kept_hint(self) -> str:
        """How a reviewer reaches a kept VM and how it goes afterwards (two lines, for the run's log)."""
        return (f"ssh -i {self.key_path} -p {self.ssh_port} -o StrictHostKeyChecking=no "
                f"-o UserKnownHostsFile=/dev/null {self.user}@{self.ssh_host}\n"
                f"  remove it with: doctest-runner doctor --fix --remove-kept {self.name}")

    @property
    def destroyed(self) -> bool:
        return self._destroyed

    def destroy(self) -> None:
        """Stop the domain and delete the overlay (idempotent); the console log stays as an artifact."""
        if self._destroyed:
            return
        if self.domain is not None:
            import libvirt  # lazy: libvirt-python, the optional `vm` extra

            try:
                self.domain.destroy()
            except libvirt.libvirtError:
                pass  # already gone
        wait_gone(self.name)
        if self.vmdir is not None:
            remove_tree(self.vmdir)
        self._destroyed = True
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


def ssh_banner(host: str, port: int, timeout: float) -> bytes:
    """The first bytes the server sends (b"" if none within `timeout`)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(256)
    except OSError:
        return b""


def wait_gone(name: str, timeout: float = 15) -> None:
    """libvirt's destroy returns once qemu is signalled; make sure no process still holds the overlay."""
    with contextlib.suppress(WaitTimeout):
        poll(lambda: True if not qemu_pids(name) else None, timeout=timeout, interval=0.1, what=f"qemu of {name}")
    for pid in qemu_pids(name):  # still there: ours by name and prefix, so end it
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def prepare_disk_and_log(vmdir: Path, backing: Path, workdir: Path | None, name: str) -> tuple[Path, Path]:
    """The VM's own qcow2 overlay on `backing` (never written), and a fresh console log path."""
    overlay = vmdir / "overlay.qcow2"
    res = subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(backing),
                          str(overlay)], capture_output=True, text=True)
    if res.returncode != 0:
        raise DoctestError(f"qemu-img create failed for {overlay}: {res.stderr.strip()}")
    logdir = Path(workdir) if workdir is not None else vmdir
    logdir.mkdir(parents=True, exist_ok=True)
    console_log = (logdir / f"{name}.console.log").resolve()
    console_log.unlink(missing_ok=True)
    return overlay, console_log

def create_domain(conn: Any, spec: DomainSpec) -> Any:
    """Start the transient domain `spec` describes; StartFailed with libvirt's message (the lifecycle decides
    from it whether another port may help)."""
    import libvirt  # lazy: libvirt-python, the optional `vm` extra

    try:
        return conn.createXML(domain_xml(spec), 0)
    except libvirt.libvirtError as exc:
        raise StartFailed(exc.get_error_message() or str(exc)) from None


def destroy_by_name(conn: Any, name: str) -> None:
    if conn is None:
        return
    import libvirt  # lazy: libvirt-python, the optional `vm` extra

    try:
        conn.lookupByName(name).destroy()
    except libvirt.libvirtError:
        pass
    wait_gone(name)


def remove_run_vms(run_id: str) -> list[str]:
    """Remove every local VM of one run of this process (domains `doctest-<run_id>-*` and their folders).

    For an interrupted run: guide threads that were still starting a VM when the signal came
    never handed it over, so the run sweeps what it owns by its own id."""
    import libvirt  # lazy: libvirt-python, the optional `vm` extra

    prefix = f"{PREFIX}{run_id}-"
    removed: set[str] = set()
    conn = connect()
    try:
        for dom in conn.listAllDomains():
            if dom.name().startswith(prefix):
                destroy_by_name(conn, dom.name())
                removed.add(dom.name())
    except libvirt.libvirtError:
        pass
    finally:
        with contextlib.suppress(Exception):
            conn.close()
    for vmdir in vms_dir().glob(prefix + "*"):
        remove_tree(vmdir)
        removed.add(vmdir.name)
    return sorted(removed)


def reap_stale(*, include_kept: bool | Collection[str] = False) -> list[str]:
    """Remove VMs (domain + overlay dir) with our prefix whose recorded owner process is dead; kept VMs only
    when `include_kept` is True (all) or names them.

    Domains without an owner record, or whose owner lives, are never touched. Returns the names removed.
    """
    import libvirt  # lazy: libvirt-python, the optional `vm` extra

    state = vms_dir()
    removed: list[str] = []
    candidates = {d.name: d for d in state.iterdir() if d.is_dir() and d.name.startswith(PREFIX)}

    def stale(vmdir: Path) -> bool:
        owner = read_owner(vmdir)
        if owner is None:
            return False
        return reapable(vmdir.name, owner, include_kept)

    def orphan(vmdir: Path) -> bool:
        """A directory whose harness died between mkdir and writing owner.json (no domain, long ago)."""
        try:
            old = time.time() - vmdir.stat().st_mtime > ORPHAN_AGE_S
        except OSError:
            return False
        return old and not (vmdir / "owner.json").exists() and not (vmdir / "overlay.qcow2").exists()

    conn = None
    try:
        conn = connect()
        for dom in conn.listAllDomains():
            name = dom.name()
            if not name.startswith(PREFIX):
                continue
            vmdir = candidates.pop(name, None)
            if vmdir is None or not stale(vmdir):
                continue
            with contextlib.suppress(libvirt.libvirtError):
                dom.destroy()
            wait_gone(name)
            remove_tree(vmdir)
            removed.append(name)
    except DoctestError:
        pass  # no libvirt: still clean up directories below
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
    for name, vmdir in candidates.items():  # directories with no domain left
        if (stale(vmdir) or orphan(vmdir)) and not qemu_pids(name):
            remove_tree(vmdir)
            removed.append(name)
    return removed


def guest_run(machine: Machine, command: str, *, user: str | None = "root", timeout: float = 60,
              stdin: bytes | None = None) -> tuple[int, str]:
    """(exit status, output) of one harness command in the guest over a fresh SSH login (not the guide's
    terminal: saving a state, refreshing a clone's identity)."""
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


def setup_as_root(machine: Machine, command: str, *, timeout: float = 30) -> tuple[int, str]:
    """(exit status, output) of a harness setting made as root before the guide's first step (the package
    cache's apt setting). Where the restore gave the clone its identity through the guest agent, the setting
    goes the same way (under TCG an SSH login costs ~1.5 s); anywhere else, or when the agent fails, over SSH."""
    domain = getattr(machine, "domain", None)
    if getattr(machine, "identity_via", "") == "agent" and domain is not None:
        with contextlib.suppress(agent.AgentUnavailable):
            return agent.run_script(domain, command + "\n", timeout=timeout)
    return guest_run(machine, command, timeout=timeout)
