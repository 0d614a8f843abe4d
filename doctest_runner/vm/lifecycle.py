"""One life for every VM, whichever provider makes it: claim, owner record, signal guard, start on a free port,
build the machine, wait until it is ready, then keep it for review or remove it.

Why one: cold boot, restore and remote boot used to repeat this sequence each with its own small differences
(which cleanup ran when the machine never came up, how a lost port race was recognised). A provider
(vm/providers/) now implements only the steps that differ; the order, the port retry by error kind and the
keep-or-destroy decision live here once, and are unit-tested with a fake provider (tests/test_vm_lifecycle.py).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import signal
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Generic, Literal, TypeVar

from doctest_runner.model import DoctestError

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")

Log = Callable[[str], None]
PortErrorKind = Literal["port-in-use", "other"]


def new_run_id() -> str:
    """The one run id format (reports, history, VM names): UTC time plus 4 random hex digits."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def check_run_id(run_id: str) -> str:
    """`run_id` if it can name a domain and a directory, else a one-line DoctestError."""
    if not RUN_ID_RE.match(run_id):
        raise DoctestError(f"invalid run id {run_id!r} (letters, digits, . _ -; at most 63)")
    return run_id


def port_error_kind(message: str) -> PortErrorKind:
    """What a failed domain start says about its port: qemu could not set up the SSH host forwarding (someone
    took the port between our pick and qemu's bind: try another), or anything else (retrying will not help)."""
    return "port-in-use" if "forward" in message.lower() else "other"


class StartFailed(Exception):
    """A provider's `start` could not start the domain; `message` is libvirt's text, classified once here."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def kind(self) -> PortErrorKind:
        return port_error_kind(self.message)


class SigtermGuard:
    """Turn SIGTERM into SystemExit(143) while a VM is up, so `finally` cleans up; restore the old handler after.
    Only the main thread may set signal handlers: elsewhere it does nothing (the runner handles SIGTERM there)."""

    def __init__(self) -> None:
        self.active = threading.current_thread() is threading.main_thread()
        self.old: signal.Handlers | Callable[[int, FrameType | None], object] | int | None = None

    def __enter__(self) -> SigtermGuard:
        if self.active:
            self.old = signal.getsignal(signal.SIGTERM)

            def handler(signum: int, frame: FrameType | None) -> None:
                raise SystemExit(128 + signum)

            signal.signal(signal.SIGTERM, handler)
        return self

    def shield(self) -> None:
        """During cleanup a second SIGTERM must not cut it short."""
        if self.active:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        if self.active:
            signal.signal(signal.SIGTERM, self.old if self.old is not None else signal.SIG_DFL)


def claim(records: Path, name: str, where: str = "") -> Path:
    """Create `records/name` as this VM's own directory; a name another process holds is an error (its
    directory is never touched, let alone deleted)."""
    vmdir = records / name
    try:
        vmdir.mkdir()
    except FileExistsError:
        raise DoctestError(f"a VM named {name} already exists {where or f'({vmdir})'}; use another run id") from None
    return vmdir


M = TypeVar("M")


class Provider(ABC, Generic[M]):
    """One way of getting a machine (tmt's provision plugins over one Guest are the model). The lifecycle calls
    open, claim, record, prepare, next_port/start (retried on a lost port), build, ready, and at the end keep,
    or the machine's own destroy, or abandon when no machine was built."""

    prefix: str = "doctest-"  # domain names: prefix + run id
    attempts: int = 5  # domain starts tried when the port was lost to someone else

    def __init__(self, run_id: str, log: Log | None = None):
        self.run_id = check_run_id(run_id)
        self.name = self.prefix + run_id
        self.log = log
        self.vmdir: Path | None = None  # set once claimed: only then is it ours to remove

    def say(self, text: str) -> None:
        if self.log is not None:
            self.log(text)

    def open(self) -> None:
        """Before the claim: connections, housekeeping (default: nothing)."""

    @abstractmethod
    def records(self) -> Path:
        """The directory the VM's own directory (owner record, overlay) is claimed in."""

    def claim_where(self) -> str:
        """How an error names the place of a name clash (default: the directory)."""
        return ""

    @abstractmethod
    def record(self, vmdir: Path) -> None:
        """Write the owner record (and what a later reaper needs to remove this VM)."""

    def prepare(self) -> None:
        """Disks, console log: everything the domain needs before it starts (default: nothing)."""

    @abstractmethod
    def next_port(self) -> int:
        """A port for the guest's forwarded SSH to try."""

    @abstractmethod
    def start(self, port: int) -> None:
        """Start the domain with SSH forwarded from `port`; StartFailed with libvirt's message when it fails."""

    @abstractmethod
    def start_failed(self, message: str) -> Exception:
        """The error to raise when the start failed for another reason than a lost port."""

    @abstractmethod
    def build(self, port: int) -> M:
        """The machine object for the started domain."""

    @abstractmethod
    def ready(self, machine: M) -> None:
        """Wait until the machine is usable (SSH login, new identity); an error ends the lifecycle."""

    @abstractmethod
    def keep(self, machine: M) -> None:
        """Leave the machine for a reviewer (keep=True and it was not destroyed already)."""

    @abstractmethod
    def destroy(self, machine: M) -> None:
        """Remove the machine (idempotent)."""

    @abstractmethod
    def destroyed(self, machine: M) -> bool:
        """Whether the machine was removed already (by its user, before the lifecycle ends)."""

    @abstractmethod
    def abandon(self) -> None:
        """Remove whatever was made when no machine was built (the domain may exist; the claimed directory)."""


def start_on_free_port(provider: Provider[M]) -> int:
    """Start the provider's domain, trying another port while the failure is a lost port (up to `attempts`)."""
    for attempt in range(provider.attempts):
        port = provider.next_port()
        try:
            provider.start(port)
            return port
        except StartFailed as exc:
            if exc.kind == "port-in-use" and attempt < provider.attempts - 1:
                continue
            raise provider.start_failed(exc.message) from None
    raise provider.start_failed("no attempt")  # attempts < 1


@contextlib.contextmanager
def lifecycle(provider: Provider[M], *, keep: bool = False) -> Iterator[M]:
    """The machine the provider makes, ready to use; always kept (keep=True) or removed afterwards, also after
    an error, Ctrl-C or SIGTERM."""
    machine: M | None = None
    with SigtermGuard() as guard:
        try:
            provider.open()
            provider.vmdir = claim(provider.records(), provider.name, provider.claim_where())
            provider.record(provider.vmdir)
            provider.prepare()
            port = start_on_free_port(provider)
            machine = provider.build(port)
            provider.ready(machine)
            yield machine
        finally:
            guard.shield()
            if machine is None:
                provider.abandon()
            elif keep and not provider.destroyed(machine):
                provider.keep(machine)
            else:
                provider.destroy(machine)
