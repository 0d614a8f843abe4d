"""One guide in one fresh VM: boot, run its steps in order, check, classify, collect artifacts.

Both front ends use this class — `doctest-runner run` (all steps in a thread) and the
pytest plugin (one step per test item) — so the two always give the same verdicts.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from doctest_runner.checks import compare_output, run_checks
from doctest_runner.classify import (
    GuideContext,
    after_unjudged_step,
    classify,
    follows_from,
    inner_failed_line,
    missing,
    verdict_for_mismatch,
)
from doctest_runner.model import (
    DocResult,
    DocStatus,
    DoctestError,
    ExecResult,
    GuestTerminal,
    HostInfo,
    Machine,
    Plan,
    Step,
    StepResult,
    category_group,
)
from doctest_runner.image import build_image
from doctest_runner.report import real_dir
from doctest_runner.run.fixes import candidates, fixable

if TYPE_CHECKING:
    from doctest_runner.exec import GuestSession
    from doctest_runner.image import BuiltImage
    from doctest_runner.run.prefix import PrefixBoard
    from doctest_runner.run.resume import Resume
    from doctest_runner.fix import Candidate
    from doctest_runner.vm.store import SavedMachine

OutputCallback = Callable[[Step, str, str], None]

# SSH can be up before udev has loaded kvm_amd/kvm_intel: when the guest CPU offers svm/vmx,
# wait (bounded) for /dev/kvm, so neither the verdicts nor the guide's own checks race the boot.
KVM_PROBE = (
    "grep -qwE 'svm|vmx' /proc/cpuinfo || exit 1; "
    "for _ in $(seq 1 100); do [ -e /dev/kvm ] && exit 0; sleep 0.2; done; exit 1"
)


@dataclass
class GuideOptions:
    """What the run asks of every guide."""

    keep_going: bool = False
    output_mode: str = "warn"  # off | warn | check: what to do with prompted commands' expected output
    default_timeout: float = 900.0
    boot_timeout: float = 300.0
    accel: str | None = None  # the user's requested acceleration (--accel, $DOCTEST_RUNNER_ACCEL); None: probe
    host: HostInfo | None = None  # the local acceleration decided once at the edge (vm.decide_host); None: start()
    image: str | None = None  # overrides the plan's image
    keep_on_failure: bool = False
    memory_mb: int = 2048
    fast: bool = True  # restore a saved booted machine instead of a cold boot (vm/fresh.py, vm/store/)
    checkpoint: str = "step"  # step | heading | off: when to keep a checkpoint of the guide's VM
    resume: bool = False  # start from the last checkpoint whose steps above are unchanged
    trust_check_modules: bool = False  # run sidecars' check_modules (host-side Python from the docs repo)
    package_cache: bool = False  # point the guest's apt at the host's package cache (vm/pkgcache.py)
    suggest_fixes: bool = False  # read candidate fixes of the first failure from the guest before it goes (#14)


class MachineBackend(Protocol):
    """Where a guide's machine and its terminal come from when not from libvirt and SSH (`GuideRun.backend`;
    the pytest plugin's own tests plug a fake one in). `machine` yields the guide's machine for its whole life;
    `session` yields a terminal on it with GuestSession's interface (run, run_step, upload, capture)."""

    def machine(self, guide: GuideRun) -> contextlib.AbstractContextManager[Machine]: ...

    def session(self, machine: Machine, *, log_dir: Path) -> contextlib.AbstractContextManager[Any]: ...


def slug(path: str) -> str:
    """A file-name-safe name for a guide's artifacts folder."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", path).strip("_") or "guide"


@dataclass
class GuideRun:
    """The life of one guide's VM. `start()`, then `run_step()` per step, then `finish()`."""

    plan: Plan
    options: GuideOptions
    artifacts_dir: Path
    run_id: str
    on_output: OutputCallback | None = None
    log: Callable[[str], None] = print
    results: list[StepResult] = field(default_factory=list)
    kvm_available: bool | None = None
    host: HostInfo | None = None
    machine: Machine | None = None
    vm_host: str | None = None  # a remote libvirt URI (run --host); None: the local libvirt
    prefix_wait: tuple[int, str, int] | None = None  # shared prefix: (steps, key, leader index) to start from
    prefix_publish: dict[int, str] = field(default_factory=dict)  # checkpoints other guides wait for
    board: PrefixBoard | None = None
    resumed: int = 0  # steps restored from a checkpoint instead of run
    backend: MachineBackend | None = None  # None: a libvirt VM (local or --host) and a GuestSession over SSH
    proposals: list[Candidate] = field(default_factory=list)  # --suggest-fixes: candidates for the first failure
    _stack: contextlib.ExitStack | None = None
    _session: GuestTerminal | None = None
    _stopped: bool = False  # an earlier step failed and keep_going is off
    _started: float = 0.0
    _error: str | None = None
    _resume: Resume | None = None  # a local VM's checkpoints (None: a remote host or a backend: none there)
    _guest: GuestSession | None = None  # the session when it is SSH into a VM (its shell state files, its close)

    # -- lifecycle -------------------------------------------------------------------------------
    # The pytest plugin imports this module in every pytest session: exec/ and vm/ (paramiko, libvirt) are
    # imported inside the methods that start a VM (`# lazy:`), so a session that runs no guide never loads them.
    def start(self) -> None:
        """Build (or reuse) the image, boot a fresh VM, open the session, upload fixtures."""
        from doctest_runner.exec import GuestSession  # lazy: VM layer, not at plugin load

        self._started = time.monotonic()
        real_dir(self.artifacts_dir)  # a symlink left in --out (walk, pytest plugin) is not written through
        self._stack = contextlib.ExitStack()
        open_session: Callable[..., contextlib.AbstractContextManager[Any]] = GuestSession
        if self.backend is None:
            # the front ends build images up front (with progress); here it is a cache lookup
            image = build_image(self.options.image or self.plan.image, log=lambda _msg: None)
            vm_context, start_from = self._vm_context(image)
        else:
            vm_context, start_from, open_session = self.backend.machine(self), None, self.backend.session
        try:
            machine = self._stack.enter_context(vm_context)
            self.machine = machine
            self.host = machine.host
            session = self._stack.enter_context(open_session(machine, log_dir=self.artifacts_dir / "steps"))
            self._session = session
            probe = session.run(KVM_PROBE, timeout=60)
            self.kvm_available = probe.exit_code == 0
            restored = start_from is not None and machine.restored_from is start_from
            if self.options.package_cache and self.vm_host is None:  # a remote host's guests cannot reach it
                self._use_package_cache(machine, True)
            elif restored:
                self._use_package_cache(machine, False)  # a checkpoint from a run with the cache: without it now
            self._guest = session if self.backend is None else None
            if restored and start_from is not None:
                from doctest_runner.run.resume import adopt_session  # lazy: VM layer, not at plugin load

                # fixtures and shell state came with the checkpoint
                adopt_session(machine, start_from.session_dir, session.dir)
            else:
                self.resumed = 0
                for local, remote in self.plan.fixtures:
                    session.upload(Path(local), remote)
        except BaseException:
            self.close()
            raise

    def _use_package_cache(self, machine, enabled: bool) -> None:
        """One apt setting as root (vm/pkgcache.py); a failure only costs the guide its cache, never a step."""
        from doctest_runner.vm import setup_as_root  # lazy: VM layer, not at plugin load
        from doctest_runner.vm.pkgcache import guest_setup_command

        try:
            ok = setup_as_root(machine, guest_setup_command(enabled), timeout=30)[0] == 0
        except Exception as exc:  # noqa: BLE001 - the cache is an optimisation
            ok = False
            self.log(f"{self.plan.path}: package cache not set up ({exc})")
        if not ok:
            self.log(f"{self.plan.path}: package cache not set up in the guest; downloads go direct")

    def _vm_context(self, image):
        """Where this guide's VM comes from: a remote host, or here (a checkpoint, a saved state, or a cold
        boot: run/resume.py and vm.fresh_machine decide). With --keep-on-failure the VM layer is asked to keep
        the VM, and `finish()` removes it itself when the guide passed."""
        common = dict(
            run_id=self.run_id,
            workdir=self.artifacts_dir,
            memory_mb=self.options.memory_mb,
            boot_timeout=self.options.boot_timeout,
            keep=self.options.keep_on_failure,
        )
        # lazy: the VM layer (paramiko, libvirt) loads only when a guide runs; the pytest plugin imports this
        from doctest_runner.vm import boot_remote, fresh_machine, qemu_version

        if self.vm_host is not None:  # that host decides its acceleration from the user's request
            return boot_remote(image, uri=self.vm_host, accel=self.options.accel, log=self.log, **common), None
        from doctest_runner.run.resume import Resume  # lazy: VM layer, not at plugin load

        host = self._local_host()
        self._resume = Resume.for_plan(self.plan, image, accel=host.accel,
                                       qemu=qemu_version(), memory_mb=self.options.memory_mb, log=self.log,
                                       board=self.board, prefix_wait=self.prefix_wait,
                                       prefix_publish=self.prefix_publish)
        start_from, self.resumed = self._resume.find_start(resume=self.options.resume,
                                                           step_timeout=self.options.default_timeout)
        return fresh_machine(image, host=host, fast=self.options.fast, start_from=start_from, log=self.log,
                             **common), start_from

    def _local_host(self) -> HostInfo:
        """The local acceleration: the one the command decided at its edge, else (the pytest plugin, API
        callers) decided here once for this guide from `options.accel`."""
        if self.options.host is None:
            from doctest_runner.vm import decide_host  # lazy: VM layer, not at plugin load

            self.options = replace(self.options, host=decide_host(self.options.accel))
        assert self.options.host is not None
        return self.options.host

    def _checkpoint(self, k: int) -> None:
        """Keep a checkpoint of the guide's VM after k steps (run/resume.py decides what is kept)."""
        if self._resume is None or self.machine is None or self._guest is None:
            return
        self._resume.checkpoint(k, self.machine, session_dir=self._guest.dir, before_stop=self._guest.close,
                                go_on=self._continue_restored)

    def _continue_restored(self, k: int, entry: SavedMachine, old_dir: str) -> None:
        """The guide's VM was stopped by its save: go on in a VM restored from it, with the same shell state."""
        from doctest_runner.exec import GuestSession  # lazy: VM layer, not at plugin load
        from doctest_runner.run.resume import adopt_session  # lazy: VM layer, not at plugin load
        from doctest_runner.vm import store  # lazy: VM layer, not at plugin load

        assert self._resume is not None
        image: BuiltImage = self._resume.image
        stack, self._stack = self._stack, contextlib.ExitStack()
        if stack is not None:
            with contextlib.suppress(Exception):
                stack.close()
        machine = self._stack.enter_context(store.restore(
            entry.path.name, image, run_id=f"{self.run_id}-c{k}", workdir=self.artifacts_dir,
            host=self._local_host(), memory_mb=self.options.memory_mb, boot_timeout=self.options.boot_timeout,
            log=self.log))
        self.machine = machine
        session = self._stack.enter_context(GuestSession(machine, log_dir=self.artifacts_dir / "steps"))
        self._session = self._guest = session
        restored = machine.restored_from  # the entry found under the key (another guide's, if it saved it first)
        below = restored.session_dir if isinstance(restored, store.SavedMachine) else ""
        adopt_session(machine, below or old_dir, session.dir)

    def close(self) -> None:
        """Remove the VM now (idempotent)."""
        if self.board is not None:  # guides waiting on a prefix this one never reached run from the start
            for key in self.prefix_publish.values():
                self.board.post(key, None)
        if self._stack is not None:
            stack, self._stack = self._stack, None
            stack.close()
            if self._resume is not None:
                self._resume.compact()

    def _kept_message(self, machine: Machine) -> str:
        return f"VM {machine.name} kept for {self.plan.path}: {machine.kept_hint()}"

    def finish(self) -> DocResult:
        """Cleanup steps, checks, artifacts on failure; then the VM goes (unless kept)."""
        try:
            if self._session is not None and self.options.suggest_fixes and self.failed:
                self._propose_fixes(self._session)  # before cleanup: the guest as the failure left it
            if self._session is not None:
                for step in self.plan.cleanup:
                    self.run_step(step, cleanup=True)
                checks = self._run_checks() if not self.failed else []
                if self.failed:
                    self._collect_failure_artifacts()
            else:
                checks = []
            result = self._doc_result(checks)
            if self.options.keep_on_failure and self.machine is not None:
                if self.failed:  # the VM layer keeps it when the context closes
                    self.log(self._kept_message(self.machine))
                else:
                    self.machine.destroy()
            return result
        finally:
            self.close()

    def _propose_fixes(self, session: GuestTerminal) -> None:
        """Candidate fixes of the guide's first failure, read as the guide's user (run/fixes.py)."""
        first = fixable(self.plan, self.results)
        if first is not None:
            self.proposals = candidates(self.plan, first, lambda cmd: session.capture(cmd, root=False), self.log)

    def abort(self, message: str) -> DocResult:
        """The harness failed for this guide (boot, SSH...): an `error` result, every step not run."""
        self._error = message
        done = {r.step.id for r in self.results}
        for step in self.plan.steps:
            if step.id not in done:
                self.results.append(self._not_run(step, "not run: " + message))
        self.close()
        return self._doc_result([])

    # -- steps -----------------------------------------------------------------------------------
    @property
    def failed(self) -> bool:
        return any(r.status in ("failed", "error") for r in self.results)

    def _not_run(self, step: Step, reason: str) -> StepResult:
        return StepResult(step=step, status="not-run", explanation=reason)

    def run_step(self, step: Step, *, cleanup: bool = False) -> StepResult:
        """Run one step (or decide not to) and record its verdict."""
        result = self._evaluate(step, cleanup=cleanup)
        self.results.append(result)
        if result.status in ("failed", "error") and not self.options.keep_going and not cleanup:
            self._stopped = True
        return result

    def _evaluate(self, step: Step, *, cleanup: bool) -> StepResult:
        if step.status == "skip":
            return StepResult(step=step, status="skipped", explanation=step.reason)
        if self._stopped and not cleanup:
            return self._not_run(step, "not run: an earlier step failed")
        if "kvm" in step.options.requires and self.kvm_available is False:
            return StepResult(
                step=step,
                status="failed",
                category="needs-kvm",
                explanation="the step needs KVM, and the VM has no /dev/kvm (no nested virtualization)",
                evidence="test -e /dev/kvm: false",
            )
        assert self._session is not None
        callback = None
        if self.on_output is not None:
            cb = self.on_output

            def callback(stream: str, text: str, _step: Step = step) -> None:
                cb(_step, stream, text)

        res: ExecResult = self._session.run_step(
            step, default_timeout=self.options.default_timeout, on_output=callback
        )
        return self._verdict(step, res)

    def _verdict(self, step: Step, res: ExecResult) -> StepResult:
        passed = not res.timed_out and res.exit_code == step.options.expect_exit
        out = StepResult(
            step=step,
            status="passed" if passed else "failed",
            exit_code=res.exit_code,
            duration_s=round(res.duration_s, 3),
            output=res.output,
        )
        mode = step.options.output or self.options.output_mode
        if passed and step.expected_output and mode in ("warn", "check"):
            mismatch = compare_output(step.expected_output, res.output)
            if mismatch is not None:
                if mode == "check":
                    out.status = "failed"
                    v = verdict_for_mismatch(mismatch)
                    out.category, out.explanation, out.evidence = v.category, v.explanation, v.evidence
                    out.failed_line = step.line
                    return out
                out.output_warning = mismatch.message
        if not passed:
            verdict = classify(step, res, kvm_available=bool(self.kvm_available),
                               context=GuideContext.from_plan(self.plan))
            out.category, out.explanation, out.evidence = (
                verdict.category,
                verdict.explanation,
                verdict.evidence,
            )
            if res.failed_line_index is not None:
                out.failed_line = step.source_line(res.failed_line_index)
            else:
                out.failed_line = step.line
            if out.category == "syntax":  # inside a string handed to another shell (`sh -c '...'`): that line
                out.failed_line = inner_failed_line(step, res.output, res.failed_line_index) or out.failed_line
            # a cascade: what this failure misses, an earlier failed step was meant to provide
            gone = missing(step.command, res.output, res.failed_line_index)
            out.after_failure = follows_from(gone, self.results)
            unjudged = after_unjudged_step(gone, self.results) if out.after_failure is None \
                and category_group(out.category) == "doc" else None
            if unjudged is not None:  # what it misses, a step the harness could not judge would have provided
                out.category = "prerequisite"
                out.explanation = (f"needs what line {unjudged.step.line} provides, a step that was not run here "
                                   f"({unjudged.step.reason})")
        return out

    # -- after the steps -------------------------------------------------------------------------
    def _run_checks(self):
        if not (self.plan.checks or self.plan.check_modules) or self.machine is None:
            return []
        return run_checks(self.machine, self.plan.checks, self.plan.check_modules, self.artifacts_dir,
                          trust_modules=self.options.trust_check_modules)

    def _collect_failure_artifacts(self) -> None:
        if self._session is None:
            return
        for name, cmd in (("journal.txt", "sudo journalctl -b --no-pager"), ("dmesg.txt", "sudo dmesg")):
            try:
                (self.artifacts_dir / name).write_text(self._session.capture(cmd))
            except Exception as exc:  # artifacts are best effort: never hide the real failure
                (self.artifacts_dir / name).write_text(f"could not collect: {exc}\n")

    def _doc_result(self, checks) -> DocResult:
        steps = self.results
        status: DocStatus
        if self._error:
            status = "error"
        elif any(r.status in ("failed", "error") for r in steps) or any(not c.passed for c in checks):
            status = "failed"
        elif steps and all(r.status == "skipped" for r in steps):
            status = "skipped"
        else:
            status = "passed"
        return DocResult(
            path=self.plan.path,
            image=self.options.image or self.plan.image,
            status=status,
            duration_s=round(time.monotonic() - self._started, 3) if self._started else 0.0,
            steps=list(steps),
            checks=list(checks),
            error=self._error,
            artifacts=str(self.artifacts_dir),
        )

    def run_all(self) -> DocResult:
        """The whole guide, as `doctest-runner run` does it."""
        if all(s.status == "skip" for s in self.plan.steps) and not self.plan.setup:
            self._started = time.monotonic()
            for step in self.plan.steps:
                self.run_step(step)
            return self._doc_result([])
        try:
            self.start()
        except DoctestError as exc:
            return self.abort(str(exc))
        seq = [*self.plan.setup, *self.plan.steps]
        resume = self._resume
        points = resume.points(self.options.checkpoint, self.resumed) if resume is not None else set()
        for i, step in enumerate(seq):
            if i < self.resumed and resume is not None:
                self.results.append(resume.restored_result(step, self.resumed))
                continue
            self.run_step(step)
            if i + 1 in points and not self.failed and self._session is not None:
                self._checkpoint(i + 1)
        return self.finish()
