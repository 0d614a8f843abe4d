"""A fake machine backend (run/guide.py `MachineBackend`) for the pytest plugin's tests: no VM, no SSH.

GuideRun.start() takes its machine and terminal from the backend and then does what it does with a real VM
(KVM probe, fixture uploads), and every step goes through GuideRun's own verdict path (classify, cascades).
The terminal answers each step with the exit status and output given for its doc line (tests/fake_session.py)
and records the order the steps ran in, so a test can tell which steps ran and when.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from fake_session import FakeSession

from doctest_runner.model import ExecResult


class FakeMachine:
    """A machine as doctest_runner/model.py's Machine protocol says (GuideRun reads its name, host, destroy
    and kept_hint); its SSH address leads nowhere, since the fake terminal never connects."""

    name = "fake-machine"
    host = None
    ssh_host = "127.0.0.1"
    ssh_port = 0
    user = "user"
    key_path = Path("/nonexistent/fake-machine-key")

    def __init__(self) -> None:
        self.destroyed = False

    def destroy(self) -> None:
        self.destroyed = True

    def kept_hint(self) -> str:
        return "a fake machine: nothing to log into"


class FakeTerminal(FakeSession):
    """GuestSession's interface as GuideRun uses it: run (the KVM probe), run_step, upload, capture."""

    def __init__(self, answers: dict[int, tuple[int, str]], *, kvm: bool, ran: list[str],
                 failed_index: dict[int, int]):
        super().__init__(answers)
        self.kvm = kvm
        self.failed_index = failed_index
        self.ran_ids = ran
        self.uploads: list[tuple[Path, str]] = []

    def run(self, command: str, *, timeout: float | None = 600, **_kw: object) -> ExecResult:
        return ExecResult(exit_code=0 if self.kvm else 1, output="", duration_s=0.0)

    def run_step(self, step, default_timeout=None, on_output=None) -> ExecResult:
        self.ran_ids.append(f"{step.path}:{step.line}")
        res = super().run_step(step, default_timeout=default_timeout, on_output=on_output)
        if res.exit_code and step.line in self.failed_index:
            res.failed_line_index = self.failed_index[step.line]
        return res

    def upload(self, local: Path, remote: str) -> None:
        self.uploads.append((local, remote))

    def capture(self, cmd: str, **_kw: object) -> str:
        return f"(fake machine: no output of {cmd})\n"


class FakeBackend:
    """Machines that answer steps from `answers` (doc line -> (exit status, output)); a failing step's failed
    command is its first line, or the 0-based line `failed_index` gives for its doc line. `ran` lists every step
    run (`path:line`, in order) and `booted` counts the machines, over all guides of a pytest session."""

    def __init__(self, answers: dict[int, tuple[int, str]] | None = None, *, kvm: bool = False,
                 failed_index: dict[int, int] | None = None):
        self.answers = answers or {}
        self.kvm = kvm
        self.failed_index = failed_index or {}
        self.ran: list[str] = []
        self.booted = 0

    @contextlib.contextmanager
    def machine(self, guide) -> Iterator[FakeMachine]:
        self.booted += 1
        yield FakeMachine()

    @contextlib.contextmanager
    def session(self, machine, *, log_dir: Path) -> Iterator[FakeTerminal]:
        yield FakeTerminal(self.answers, kvm=self.kvm, ran=self.ran, failed_index=self.failed_index)


class FakeBackendPlugin:
    """Hands the backend to the doctest-runner plugin (its `pytest_doctest_runner_backend` hook)."""

    def __init__(self, backend: FakeBackend):
        self.backend = backend

    def pytest_doctest_runner_backend(self, config) -> FakeBackend:
        return self.backend
