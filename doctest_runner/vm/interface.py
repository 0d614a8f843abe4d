"""What the rest of the harness may use of a booted machine and of the terminal on it, as Protocols.

Why: a guide's machine is a local `Machine`, a `RemoteMachine` behind a tunnel, or a test's fake, and its
terminal a `GuestSession` or a fake; `GuideRun`, `walk` and the testinfra checks rely only on these members,
so every backend is type-checked against the same short list instead of against `object`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from doctest_runner.exec.output import OnOutput
    from doctest_runner.model import ExecResult, Step


class GuestMachine(Protocol):
    """A booted machine: where its SSH listens, who logs in with which key, and how it ends."""

    @property
    def name(self) -> str: ...

    @property
    def ssh_host(self) -> str: ...

    @property
    def ssh_port(self) -> int: ...

    @property
    def user(self) -> str: ...

    @property
    def key_path(self) -> Path: ...

    def kept_hint(self) -> str:
        """How to reach it when it is kept for review (--keep-on-failure)."""
        ...

    def destroy(self) -> None: ...


class GuestTerminal(Protocol):
    """The guide's terminal on its machine: runs planned steps in one shell state, and harness commands."""

    def run_step(self, step: Step, *, default_timeout: float | None = 600,
                 on_output: OnOutput | None = None) -> ExecResult: ...

    def capture(self, cmd: str, *, root: bool = True, timeout: float = 120) -> str: ...
