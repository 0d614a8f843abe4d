"""Cold boot: a new overlay on the image's cached base, a transient domain started from the image's kernel
(or its bootloader), SSH on 127.0.0.1. The slow way (a full boot) and the one every other way falls back to.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from doctest_runner.image import BuiltImage, remove_tree
from doctest_runner.model import DoctestError, HostInfo
from doctest_runner.vm.domain import DomainSpec, kernel_cmdline
from doctest_runner.vm.lifecycle import Log, Provider, lifecycle, new_run_id
from doctest_runner.vm.machine import (
    LibvirtMachine,
    connect,
    create_domain,
    destroy_by_name,
    free_port,
    prepare_disk_and_log,
    reap_stale,
)
from doctest_runner.vm.state import vms_dir, write_owner


def cold_boot_host_key(image: BuiltImage) -> str | None:
    """The host key a cold-booted guest of `image` must present: the one its build made and recorded
    (image/debootstrap.py, image/cloud.py), so the first login is pinned, not trusted on first use. None for
    an image built before keys were recorded (rebuild it with `image build --force` to pin it)."""
    key = getattr(image, "host_key", None)
    return key if isinstance(key, str) and len(key.split()) >= 2 else None


class LocalProvider(Provider[LibvirtMachine]):
    """What cold boot and restore share: a VM directory under vms_dir(), the local libvirt connection, and
    removal of a domain that started but never became a machine."""

    def __init__(self, run_id: str, log: Log | None = None):
        super().__init__(run_id, log)
        self.conn: Any = None

    def records(self) -> Path:
        return vms_dir()

    def next_port(self) -> int:
        return free_port()

    def keep(self, machine: LibvirtMachine) -> None:
        machine.mark_kept()

    def destroy(self, machine: LibvirtMachine) -> None:
        machine.destroy()

    def destroyed(self, machine: LibvirtMachine) -> bool:
        return machine.destroyed

    def abandon(self) -> None:
        destroy_by_name(self.conn, self.name)
        if self.vmdir is not None:
            remove_tree(self.vmdir)
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()


class ColdBoot(LocalProvider):
    """A fresh VM booted from `image` with the acceleration `host` says."""

    def __init__(self, image: BuiltImage, host: HostInfo, *, run_id: str, workdir: Path | None, memory_mb: int,
                 vcpus: int, boot_timeout: float, log: Log | None = None):
        super().__init__(run_id, log)
        self.image, self.host, self.workdir = image, host, workdir
        self.memory_mb, self.vcpus, self.boot_timeout = memory_mb, vcpus, boot_timeout
        self.overlay = self.console_log = Path()
        self.dom: Any = None
        self.t0 = 0.0

    def open(self) -> None:
        reap_stale()
        self.say(f"accel {self.host.accel}: {self.host.why}")

    def record(self, vmdir: Path) -> None:
        write_owner(vmdir, self.name, base=self.image.base)

    def prepare(self) -> None:
        assert self.vmdir is not None
        self.overlay, self.console_log = prepare_disk_and_log(self.vmdir, Path(self.image.base), self.workdir,
                                                              self.name)
        self.conn = connect()

    def start(self, port: int) -> None:
        image = self.image
        spec = DomainSpec(name=self.name, overlay=self.overlay, console_log=self.console_log, ssh_port=port,
                          accel=self.host.accel, cpu_mode=self.host.cpu_mode, memory_mb=self.memory_mb,
                          vcpus=self.vcpus, kernel=image.kernel, initrd=image.initrd,
                          cmdline=kernel_cmdline(image.cmdline) if image.kernel else "", seed=image.seed)
        self.dom = create_domain(self.conn, spec)
        self.t0 = time.monotonic()

    def start_failed(self, message: str) -> Exception:
        return DoctestError(f"libvirt could not start {self.name}: {message}")

    def build(self, port: int) -> LibvirtMachine:
        assert self.vmdir is not None
        return LibvirtMachine(name=self.name, ssh_host="127.0.0.1", ssh_port=port, user=self.image.user,
                              key_path=self.image.key_path, console_log=self.console_log, overlay=self.overlay,
                              host=self.host, image=self.image, domain=self.dom, conn=self.conn, vmdir=self.vmdir,
                              host_key=cold_boot_host_key(self.image))

    def ready(self, machine: LibvirtMachine) -> None:
        self.say(f"{self.name}: started ({self.host.accel}), waiting for SSH on 127.0.0.1:{machine.ssh_port}")
        machine.wait_ssh(self.boot_timeout)
        machine.boot_seconds = time.monotonic() - self.t0
        self.say(f"{self.name}: SSH ready after {machine.boot_seconds:.1f} s")

    def keep(self, machine: LibvirtMachine) -> None:
        machine.mark_kept()
        self.say(f"kept {self.name}: ssh -i {self.image.key_path} -p {machine.ssh_port} {self.image.user}@127.0.0.1 "
                 f"(remove with `virsh destroy {self.name}; rm -r {self.vmdir}`)")


@contextlib.contextmanager
def boot(image: BuiltImage, *, host: HostInfo, run_id: str | None = None, workdir: Path | None = None,
         memory_mb: int = 2048, vcpus: int = 2, boot_timeout: float = 180, keep: bool = False,
         log: Log | None = None) -> Iterator[LibvirtMachine]:
    """Start a fresh VM from `image`, wait until SSH works, yield it, and always remove it afterwards (or keep
    it for review with keep=True). `host` is the acceleration decided once for the run (vm.decide_host)."""
    provider = ColdBoot(image, host, run_id=run_id or new_run_id(), workdir=workdir, memory_mb=memory_mb,
                        vcpus=vcpus, boot_timeout=boot_timeout, log=log)
    with lifecycle(provider, keep=keep) as machine:
        machine.restored_from = None
        yield machine
