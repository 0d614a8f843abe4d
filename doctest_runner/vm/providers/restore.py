"""Restore: a VM brought up from a saved state or checkpoint (vm/store/) in seconds instead of a cold boot.

Why it looks like this:
- libvirt's `restoreFlags(file, dxml)` refuses a changed <uuid> (ABI check), and two VMs with one uuid cannot
  run at once. So each restore gets its own copy of the save image whose embedded domain XML is retargeted
  (name, uuid, overlay, console log, forwarded SSH port); the ~200 MB copy takes ~0.1 s from the page cache
  and is deleted as soon as qemu has loaded it.
- A restored guest is a clone: after restore we set its clock from the host, give it a new machine id and new
  SSH host keys (a set made ahead of time, vm/hostkeys.py; generated on the host while qemu loads when the pool
  is empty), mix host randomness into its pool, and reload sshd.
- Anything wrong (files, restore error, identity refresh) is a RestoreError with nothing left behind, and the
  caller (vm/fresh.py) falls back to a cold boot and says why.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import paramiko

from doctest_runner.image import BuiltImage
from doctest_runner.model import DoctestError, HostInfo
from doctest_runner.vm import agent, hostkeys
from doctest_runner.vm.lifecycle import Log, StartFailed, lifecycle
from doctest_runner.vm.machine import (
    LibvirtMachine,
    connect,
    destroy_by_name,
    guest_run,
    prepare_disk_and_log,
    quiet_paramiko,
    ssh_banner,
)
from doctest_runner.vm.providers.cold import LocalProvider
from doctest_runner.vm.state import write_owner
from doctest_runner.vm.store import LAYERS_FILE, SavedMachine, retarget_xml, rewrite_save_image
from doctest_runner.wait import Deadline


class RestoreError(Exception):
    """The saved machine could not be brought up (the caller falls back to a cold boot)."""


def identity_script(keys: dict[str, tuple[str, str]], machine_id: str, epoch: float, noise: str) -> str:
    """Root shell script that makes a restored clone its own machine (pure: unit-tested).

    Under TCG every process the guest starts costs tens of milliseconds, so the script uses the shell's
    builtins (printf, read, umask, test) and starts only `date` (and `ln` when journald keeps a journal).
    OpenSSH before 9.8 re-executes itself per connection and the child reads the host keys from disk, so new
    key files are served by the next connection without a reload; with `sshd-session` (9.8+) the listener
    hands its keys over, so there the script reloads sshd and prints `reloaded`."""
    # the two processes (date, ln) run beside the shell's own writes: the guest has two vCPUs, and right after
    # a restore each new process is slow (TCG translates its code afresh)
    lines = ["set -e", f"date -u -s @{epoch:.3f} >/dev/null & clock=$!", f"printf '%s' '{noise}' > /dev/urandom",
             "read -r old < /etc/machine-id", f"printf '%s\\n' '{machine_id}' > /etc/machine-id",
             # journald keeps writing under the old id until restarted; link the new id to it (no restart: cheap)
             "links=", "for d in /run/log/journal /var/log/journal; do if [ -d \"$d/$old\" ]; then "
             f"ln -sfn \"$old\" \"$d/{machine_id}\" & links=\"$links $!\"; fi; done",
             "for f in /etc/ssh/ssh_host_*_key; do case \"$f\" in "
             + "|".join(f"*_{kind}_key" for kind in keys) + ") ;; *) rm -f \"$f\" \"$f.pub\";; esac; done"]
    for kind, (priv, pub) in keys.items():
        path = f"/etc/ssh/ssh_host_{kind}_key"
        lines += ["umask 077", f"printf '%s\\n' '{priv.strip()}' > {path}",
                  "umask 022", f"printf '%s\\n' '{pub.strip()}' > {path}.pub"]
    lines += ["wait \"$clock\"", "for p in $links; do wait \"$p\"; done",  # their failures fail the script
              "if [ -e /usr/lib/openssh/sshd-session ] || [ -e /usr/libexec/sshd-session ]; then "
              "read -r pid < /run/sshd.pid; kill -HUP \"$pid\"; echo reloaded; fi",
              # the agent path has no login to prove sshd is there; its pid file, when there is one, does
              "if [ -r /run/sshd.pid ] && read -r pid < /run/sshd.pid && kill -0 \"$pid\" 2>/dev/null; then "
              "echo sshd-running; fi"]
    return "\n".join(lines) + "\n"


def wait_new_host_key(machine: LibvirtMachine, pub: str, deadline: Deadline) -> None:
    """Until sshd serves the new ed25519 key (after its reload): then a session sees the new identity."""
    want = pub.split()[1]
    last = "no attempt"
    with quiet_paramiko():
        while not deadline.expired:
            if not ssh_banner(machine.ssh_host, machine.ssh_port, 2.0).startswith(b"SSH-"):
                last = "sshd restarting"
                deadline.sleep(0.05)
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
            deadline.sleep(0.1)
    raise RestoreError(f"sshd did not come back with the new host key ({last})")


def refresh_identity(machine: LibvirtMachine, keys: dict[str, tuple[str, str]], timeout: float = 60) -> str:
    """Clock, machine id, randomness and SSH host keys of a restored clone (see identity_script); returns how
    ("agent" or "ssh"). Through the guest agent when the saved machine has one (no SSH login: the guide's own
    login is the first, and it already checks the new host key), else the first SSH login runs it as root."""
    try:
        rc, out = agent.run_script(machine.domain, identity_script(keys, uuid.uuid4().hex, time.time(),
                                                                   os.urandom(64).hex()), timeout=min(timeout, 20))
    except agent.AgentUnavailable:
        pass  # an image or checkpoint without a working agent: SSH below
    else:
        if rc != 0:
            raise RestoreError(f"could not refresh the clone's identity (exit {rc}): {out.strip()[-300:]}")
        words = out.split()
        if "reloaded" in words:
            wait_new_host_key(machine, keys["ed25519"][1], Deadline(timeout))
        elif "sshd-running" not in words:  # no pid file (a socket-activated sshd): its banner says it is up
            if not ssh_banner(machine.ssh_host, machine.ssh_port, min(timeout, 10.0)).startswith(b"SSH-"):
                raise RestoreError("sshd does not answer in the restored guest")
        machine.host_key = keys["ed25519"][1]
        return "agent"
    _refresh_over_ssh(machine, keys, timeout)
    return "ssh"


def _refresh_over_ssh(machine: LibvirtMachine, keys: dict[str, tuple[str, str]], timeout: float) -> None:
    """The identity script over the restored guest's first SSH login (one handshake less than waiting for a
    login first, then running it)."""
    deadline = Deadline(timeout)
    last = "no attempt"
    with quiet_paramiko():
        while True:
            if deadline.expired:
                raise RestoreError(f"no SSH login into the restored guest ({last})")
            if not ssh_banner(machine.ssh_host, machine.ssh_port, 3.0).startswith(b"SSH-"):
                last = "no SSH banner"
                deadline.sleep(0.05)
                continue
            mid = uuid.uuid4().hex
            script = identity_script(keys, mid, time.time(), os.urandom(64).hex())
            try:
                rc, out = guest_run(machine, "sh -s", stdin=script.encode(), timeout=timeout)
                break
            except (paramiko.SSHException, OSError, EOFError) as exc:
                last = f"{type(exc).__name__}: {exc}"
                deadline.sleep(0.1)
    if rc != 0:
        raise RestoreError(f"could not refresh the clone's identity (exit {rc}): {out.strip()[-300:]}")
    if "reloaded" in out.split():
        wait_new_host_key(machine, keys["ed25519"][1], Deadline(timeout))
    machine.host_key = keys["ed25519"][1]  # from now on every login checks it (a stale key fails the login)


def restored_host(entry: SavedMachine) -> HostInfo:
    """The acceleration a restored machine runs with: the one it was saved under (fresh_machine only restores
    an entry whose acceleration is the run's)."""
    return HostInfo(accel=entry.accel, why="restored from a saved machine",
                    cpu_mode="maximum" if entry.accel == "tcg" else "host-passthrough")


class Restore(LocalProvider):
    """A VM restored from `entry` on a new overlay above its layers, with a new identity."""

    def __init__(self, entry: SavedMachine, image: BuiltImage, *, run_id: str, workdir: Path | None,
                 ssh_timeout: float, log: Log | None = None):
        super().__init__(run_id, log)
        self.entry, self.image, self.workdir, self.ssh_timeout = entry, image, workdir, ssh_timeout
        self.host = restored_host(entry)
        self.overlay = self.console_log = Path()
        self.keys: dict[str, tuple[str, str]] = {}
        self.keygen_err: list[BaseException] = []
        self.keygen: threading.Thread | None = None
        self.t0 = self.t_restored = 0.0

    def open(self) -> None:
        self.t0 = time.monotonic()

    def record(self, vmdir: Path) -> None:
        write_owner(vmdir, self.name, base=Path(self.entry.base))
        (vmdir / LAYERS_FILE).write_text(json.dumps(self.entry.chain))  # prune keeps the layers under it
        self.entry.touch()

    def prepare(self) -> None:
        assert self.vmdir is not None
        vmdir = self.vmdir

        def gen() -> None:  # while qemu loads the memory image
            try:
                self.keys.update(hostkeys.take(vmdir) or hostkeys.generate(vmdir))
            except BaseException as exc:  # reported in ready()
                self.keygen_err.append(exc)

        self.keygen = threading.Thread(target=gen, daemon=True)
        self.keygen.start()
        try:
            self.overlay, self.console_log = prepare_disk_and_log(vmdir, Path(self.entry.top_layer()), self.workdir,
                                                                  self.name)
        except DoctestError as exc:
            raise RestoreError(str(exc)) from None
        self.conn = connect()

    def start(self, port: int) -> None:
        import libvirt  # lazy: the `vm` extra's binding, only when a VM really starts

        assert self.vmdir is not None
        copy = self.vmdir / "restore.sav"
        try:
            rewrite_save_image(self.entry.memory, copy, lambda x: retarget_xml(
                x, name=self.name, overlay=self.overlay, console_log=self.console_log, ssh_port=port))
        except (OSError, ET.ParseError, DoctestError) as exc:
            raise RestoreError(f"cannot read the save image: {exc}") from None
        try:
            self.conn.restoreFlags(str(copy), None, libvirt.VIR_DOMAIN_SAVE_RUNNING)
        except libvirt.libvirtError as exc:
            destroy_by_name(self.conn, self.name)
            raise StartFailed(exc.get_error_message() or str(exc)) from None
        finally:
            copy.unlink(missing_ok=True)
        self.t_restored = time.monotonic()

    def start_failed(self, message: str) -> Exception:
        return RestoreError(f"libvirt could not restore it: {message.strip().splitlines()[-1]}")

    def build(self, port: int) -> LibvirtMachine:
        assert self.vmdir is not None
        dom = self.conn.lookupByName(self.name)
        return LibvirtMachine(name=self.name, ssh_host="127.0.0.1", ssh_port=port, user=self.image.user,
                              key_path=self.image.key_path, console_log=self.console_log, overlay=self.overlay,
                              host=self.host, image=self.image, domain=dom, conn=self.conn, vmdir=self.vmdir)

    def ready(self, machine: LibvirtMachine) -> None:
        try:
            assert self.keygen is not None
            self.keygen.join()
            t_ssh = time.monotonic()
            if self.keygen_err:
                raise RestoreError(str(self.keygen_err[0]))
            how = machine.identity_via = refresh_identity(machine, self.keys, timeout=self.ssh_timeout)
            hostkeys.refill_in_background()  # the next restore's keys, while this guide runs
            if os.environ.get("DOCTEST_RUNNER_TIMING"):
                self.say(f"{self.name}: restore {self.t_restored - self.t0:.2f} s, "
                         f"keys {t_ssh - self.t_restored:.2f} s, identity ({how}) {time.monotonic() - t_ssh:.2f} s")
        except DoctestError as exc:
            raise RestoreError(str(exc).splitlines()[0]) from None
        machine.boot_seconds = time.monotonic() - self.t0
        self.say(f"{self.name}: restored from {self.entry.path.name}, ready after {machine.boot_seconds:.1f} s "
                 f"(new identity through {'the guest agent' if how == 'agent' else 'SSH'})")


@contextlib.contextmanager
def restore(entry: SavedMachine, image: BuiltImage, *, run_id: str, workdir: Path | None = None,
            ssh_timeout: float = 60, keep: bool = False, log: Log | None = None) -> Iterator[LibvirtMachine]:
    """A running VM restored from `entry` on a new overlay, with a new identity; removed afterwards.
    Raises RestoreError (nothing left behind) when it cannot come up."""
    with lifecycle(Restore(entry, image, run_id=run_id, workdir=workdir, ssh_timeout=ssh_timeout, log=log),
                   keep=keep) as machine:
        machine.restored_from = entry
        yield machine
