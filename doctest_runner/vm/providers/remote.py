"""Remote boot: a VM on another libvirt host (`run --host URI`), its SSH tunnelled to a local port, so every
layer above sees the same "SSH endpoint on 127.0.0.1" as for a local VM. What differs from a cold boot here:
the image is uploaded to the host's pool once, the overlay is a pool volume, the port is picked at random on
the far side, and the owner record stays here (vm/remotehost.py reaps by it).
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from doctest_runner.image import BuiltImage, remove_tree
from doctest_runner.model import DoctestError, HostInfo
from doctest_runner.vm.domain import DomainSpec, kernel_cmdline
from doctest_runner.vm.lifecycle import Log, Provider, lifecycle, new_run_id
from doctest_runner.vm.machine import LibvirtMachine, create_domain, tail
from doctest_runner.vm.remotehost import (
    PORT_RANGE,
    REMOTE_FILE,
    REMOTE_PREFIX,
    Forwarder,
    RemoteHost,
    emulator_path,
    parse_host,
    reap_remote,
    records_dir,
    remote_accel,
    remove_remote_vm,
)
from doctest_runner.vm.state import write_owner


@dataclass
class RemoteMachine(LibvirtMachine):
    """A VM on a remote host; `ssh_host:ssh_port` is the local end of the tunnel to its SSH."""

    uri: str = ""
    remote_console: str = ""  # the console log file on the remote host
    _remote: RemoteHost | None = field(default=None, repr=False)
    _forwarder: Forwarder | None = field(default=None, repr=False)
    _overlay_vol: Any = field(default=None, repr=False)
    _pool: Any = field(default=None, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    def kept_hint(self) -> str:
        """The tunnel here ends with this process: a reviewer reaches the guest through the host itself."""
        spec = parse_host(self.uri)
        guest_port = self._forwarder.dest[1] if self._forwarder is not None else "PORT"
        return (f"ssh -i {self.key_path} -J {spec.user}@{spec.hostname}:{spec.port} -p {guest_port} "
                f"-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null {self.user}@127.0.0.1\n"
                f"  remove it with: doctest-runner doctor --fix --remove-kept {self.name} --host '{self.uri}'")

    def fetch_console(self) -> None:
        """Copy the remote console log into `console_log` (best effort: it is evidence, not a result)."""
        if self._remote is None or not self.remote_console:
            return
        with contextlib.suppress(Exception):
            self._remote.sftp().get(self.remote_console, str(self.console_log))

    def wait_ssh(self, timeout: float = 180) -> None:
        try:
            super().wait_ssh(timeout)
        except DoctestError as exc:
            self.fetch_console()
            raise DoctestError(f"{exc.message.split('; console')[0]}; console from {self.uri} "
                               f"({self.console_log}) ends with:\n{tail(self.console_log)}") from None

    def destroy(self) -> None:
        """Stop the domain, fetch the console log, delete overlay and console file there; drop the record here.
        Idempotent and safe from two threads (the guide's own cleanup and the runner's Ctrl-C handler)."""
        with self._lock:
            if self._destroyed:
                return
            ok = True
            if self._forwarder is not None:
                self._forwarder.close()
            if self._remote is not None and self._remote.conn is not None:
                ok = remove_remote_vm(self._remote, self.name, self._pool, self._overlay_vol, self.remote_console,
                                      fetch_to=self.console_log)
            if ok and self.vmdir is not None:
                remove_tree(self.vmdir)  # otherwise the record stays, and the next reaper retries
            self._destroyed = True
            if self._remote is not None:
                self._remote.close()
            self.conn = None


class RemoteBoot(Provider[RemoteMachine]):
    """A fresh VM from `image` on the libvirt host `uri`; `accel` is the user's requested acceleration (None:
    the host's own capabilities decide)."""

    prefix = REMOTE_PREFIX
    attempts = 8

    def __init__(self, image: BuiltImage, uri: str, *, accel: str | None, run_id: str, workdir: Path | None,
                 memory_mb: int, vcpus: int, boot_timeout: float, log: Log | None = None):
        super().__init__(run_id, log)
        self.image, self.uri, self.accel, self.workdir = image, uri, accel, workdir
        self.memory_mb, self.vcpus, self.boot_timeout = memory_mb, vcpus, boot_timeout
        self.spec = parse_host(uri)
        self.rh = RemoteHost(self.spec)
        self.host = HostInfo(accel="tcg", why="")
        self.files: dict[str, str] = {}
        self.pool: Any = None
        self.overlay_vol: Any = None
        self.console = ""
        self.console_log = Path()
        self.emulator = ""
        self.dom: Any = None
        self.rng = random.Random()
        self.t0 = 0.0

    def open(self) -> None:
        self.rh.open()
        for gone in reap_remote(self.spec, self.rh):
            self.say(f"{self.spec.label}: removed a VM left by a dead run: {gone}")
        probe = remote_accel(self.rh.caps(), self.accel)
        self.host = HostInfo(accel=probe.accel, why=f"{self.spec.label}: {probe.why}", cpu_mode=probe.cpu_mode,
                             nested=probe.nested)
        self.files = self.rh.ensure_image(self.image, self.log)

    def records(self) -> Path:
        return records_dir(self.spec)

    def claim_where(self) -> str:
        return f"for {self.spec.label}"

    def record(self, vmdir: Path) -> None:
        self.pool = self.rh.pool()
        directory = self.rh.pool_dir(self.pool)
        self.console = str(PurePosixPath(directory) / f"{self.name}.console.log")
        write_owner(vmdir, self.name)
        (vmdir / REMOTE_FILE).write_text(json.dumps({"uri": self.uri, "pool": self.spec.pool, "console": self.console,
                                                     "overlay": f"{self.name}.overlay.qcow2"}, indent=1) + "\n")

    def prepare(self) -> None:
        assert self.vmdir is not None
        base_vol = self.pool.storageVolLookupByName(PurePosixPath(self.files["base"]).name)
        capacity = base_vol.info()[1]
        self.overlay_vol = self.pool.createXML(
            f"<volume><name>{self.name}.overlay.qcow2</name><capacity unit='bytes'>{capacity}</capacity>"
            "<target><format type='qcow2'/></target>"
            f"<backingStore><path>{self.files['base']}</path><format type='qcow2'/></backingStore></volume>", 0)
        logdir = Path(self.workdir) if self.workdir is not None else self.vmdir
        logdir.mkdir(parents=True, exist_ok=True)
        self.console_log = (logdir / f"{self.name}.console.log").resolve()
        self.console_log.unlink(missing_ok=True)
        self.emulator = emulator_path(self.rh.caps())

    def next_port(self) -> int:
        return self.rng.randint(*PORT_RANGE)  # the far side's ports: we cannot ask the kernel there for a free one

    def start(self, port: int) -> None:
        files = self.files
        dspec = DomainSpec(name=self.name, overlay=Path(self.overlay_vol.path()), console_log=Path(self.console),
                           ssh_port=port, accel=self.host.accel, cpu_mode=self.host.cpu_mode,
                           memory_mb=self.memory_mb, vcpus=self.vcpus,
                           kernel=Path(files["kernel"]) if "kernel" in files else None,
                           initrd=Path(files["initrd"]) if "initrd" in files else None,
                           cmdline=kernel_cmdline(self.image.cmdline) if self.image.kernel else "",
                           seed=Path(files["seed"]) if "seed" in files else None, emulator=self.emulator)
        self.dom = create_domain(self.rh.conn, dspec)
        self.t0 = time.monotonic()

    def start_failed(self, message: str) -> Exception:
        return DoctestError(f"libvirt on {self.spec.label} could not start {self.name}: {message}")

    def build(self, port: int) -> RemoteMachine:
        assert self.vmdir is not None
        fwd = Forwarder(self.rh.transport, "127.0.0.1", port)
        return RemoteMachine(name=self.name, ssh_host="127.0.0.1", ssh_port=fwd.port, user=self.image.user,
                             key_path=self.image.key_path, console_log=self.console_log,
                             overlay=Path(self.overlay_vol.path()), host=self.host, image=self.image, domain=self.dom,
                             conn=self.rh.conn, vmdir=self.vmdir, uri=self.uri, remote_console=self.console,
                             _remote=self.rh, _forwarder=fwd, _overlay_vol=self.overlay_vol, _pool=self.pool)

    def ready(self, machine: RemoteMachine) -> None:
        self.say(f"{self.name}: started on {self.spec.label} ({self.host.accel}), SSH tunnelled via "
                 f"127.0.0.1:{machine.ssh_port}")
        machine.wait_ssh(self.boot_timeout)
        machine.boot_seconds = time.monotonic() - self.t0

    def keep(self, machine: RemoteMachine) -> None:
        machine.mark_kept()
        if machine._forwarder is not None:
            machine._forwarder.close()
        self.say(f"kept {self.name} on {self.spec.label}: {machine.kept_hint()}")
        self.rh.close()

    def destroy(self, machine: RemoteMachine) -> None:
        machine.destroy()

    def destroyed(self, machine: RemoteMachine) -> bool:
        return machine.destroyed

    def abandon(self) -> None:
        if self.rh.conn is not None and self.vmdir is not None:
            if remove_remote_vm(self.rh, self.name, self.pool, self.overlay_vol, self.console):
                remove_tree(self.vmdir)
        self.rh.close()


@contextlib.contextmanager
def boot_remote(image: BuiltImage, uri: str, *, accel: str | None = None, run_id: str | None = None,
                workdir: Path | None = None, memory_mb: int = 2048, vcpus: int = 2, boot_timeout: float = 180,
                keep: bool = False, log: Log | None = None) -> Iterator[RemoteMachine]:
    """A cold boot on a remote libvirt host: same contract as the local one (fresh VM, SSH ready, always removed
    afterwards). `accel` is the user's requested acceleration (vm.requested_accel), never the local decision."""
    provider = RemoteBoot(image, uri, accel=accel, run_id=run_id or new_run_id(), workdir=workdir,
                          memory_mb=memory_mb, vcpus=vcpus, boot_timeout=boot_timeout, log=log)
    with lifecycle(provider, keep=keep) as machine:
        yield machine
