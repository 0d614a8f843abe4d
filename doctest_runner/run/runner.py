"""`doctest-runner run`: guides in parallel, each in its own fresh VM, results written as they finish.

The report JSON is rewritten after every guide, so a run killed in the middle still
leaves each finished guide's verdicts readable; SIGTERM and Ctrl-C destroy the VMs
that are up before the process goes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from doctest_runner.history import History
from doctest_runner.image import build_image
from doctest_runner.model import DocResult, DoctestError, HostInfo, Plan, RunResult, Step, category_group
from doctest_runner.run.checkpoint import guide_keys, machine_key
from doctest_runner.fix import Candidate, Fix
from doctest_runner.run.fixes import attach, judge, trial_options, trial_plan, write_run_fixes
from doctest_runner.run.guide import GuideOptions, GuideRun, MachineBackend, slug
from doctest_runner.report import JsonReportWriter, fresh_artifacts_dir, write_all
from doctest_runner.run.phases import Phases
from doctest_runner.run.prefix import PrefixBoard, plan_prefixes

if TYPE_CHECKING:  # rich is imported only when progress is shown
    from rich.progress import TaskID


@dataclass
class RunOptions:
    guide: GuideOptions = field(default_factory=GuideOptions)
    jobs: int = 0  # 0: from cores and memory
    out_dir: Path = Path("doctest-out")
    history: Path | None = None
    fail_on: str = "any"  # any | doc: whether environment failures (network, timeout, needs-kvm) fail the run
    codeowners: Path | None = None
    source_root: Path | None = None
    progress: bool = True
    hosts: list[str] = field(default_factory=list)  # remote libvirt URIs (--host)
    local: bool = True  # the local libvirt takes guides too (--no-local: only the remote hosts)
    prefixes: bool = True  # guides that start alike run their shared first steps once (run/prefix.py)
    cache_max: int | None = None  # bytes of saved machines kept (LRU); None: vm/store.DEFAULT_MAX_SIZE
    # where machines come from when not from libvirt (tests, API callers: run/guide.MachineBackend); with one, no
    # image is built, no saved state, checkpoint or package cache is used and no VM of a dead run is looked for
    backend: MachineBackend | None = None


def default_jobs() -> int:
    """As many VMs as the host has cores for and memory for (2 GiB each plus headroom)."""
    cores = os.cpu_count() or 1
    try:
        with open("/proc/meminfo") as f:
            avail_kb = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
        by_mem = max(1, avail_kb // (3 * 1024 * 1024))
    except (OSError, StopIteration, ValueError):
        by_mem = 1
    return max(1, min(cores, by_mem, 8))


def exit_status(run: RunResult, fail_on: str = "any") -> int:
    """0: every selected step passed or was skipped; 1: a step (or check) failed; 2: a harness error."""
    if any(d.status == "error" for d in run.docs):
        return 2
    for doc in run.docs:
        if any(not c.passed for c in doc.checks):
            return 1
        for r in doc.steps:
            if r.status in ("failed", "error"):
                # a cascade counts in its first failure's group, which is judged on its own
                if fail_on == "doc" and (category_group(r.category) == "environment" or r.after_failure):
                    continue
                return 1
    return 0


def run_labels(plans: list[Plan]) -> list[str]:
    """How progress, artifacts and the active-VM table name each guide's run (parallel to `plans`): its path, or
    `path@image` when the same guide runs on several images (`--image a --image b`)."""
    count = Counter(p.path for p in plans)
    return [f"{p.path}@{p.image}" if count[p.path] > 1 else p.path for p in plans]


class _Progress:
    """Live progress per guide (rich), or plain lines when not on a terminal."""

    def __init__(self, enabled: bool, plans: list[Plan], labels: list[str]):
        self._lock = threading.Lock()
        self._rich = None
        self._tasks: dict[str, TaskID] = {}
        if enabled:
            from rich.console import Console  # lazy: rich only when progress is on (not pytest, --no-progress)
            from rich.progress import (  # lazy: as above
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            console = Console(stderr=True)
            if console.is_terminal:
                self._rich = Progress(
                    TextColumn("{task.fields[guide]}", style="bold"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.description}"),
                    TimeElapsedColumn(),
                    console=console,
                )
                for p, label in zip(plans, labels):
                    self._tasks[label] = self._rich.add_task("queued", total=len(p.steps) or 1, guide=label)
                self._rich.start()
        self._enabled = enabled

    def update(self, label: str, message: str, advance: int = 0) -> None:
        if not self._enabled:
            return
        with self._lock:
            if self._rich is not None:
                self._rich.update(self._tasks[label], description=message, advance=advance)
            else:
                print(f"[{label}] {message}", flush=True)

    def log(self, text: str) -> None:
        if self._rich is not None:
            self._rich.console.print(text)
        else:
            print(text, flush=True)

    def stop(self) -> None:
        if self._rich is not None:
            self._rich.stop()


def run_plans(
    plans: list[Plan],
    options: RunOptions,
    *,
    host: HostInfo,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Run each plan in a fresh VM, `jobs` at a time; reports go to `options.out_dir` as guides finish."""
    from doctest_runner.vm import new_run_id, reap_stale  # lazy: the VM layer loads paramiko and libvirt

    out = options.out_dir
    if options.guide.host is None:  # every guide and saved state uses the host decided at the edge
        options = replace(options, guide=replace(options.guide, host=host))
    fresh_artifacts_dir(out)  # a symlink left in --out is removed, never written through
    run = RunResult(
        run_id=new_run_id(),
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        host=host,
    )
    labels = run_labels(plans)
    progress = _Progress(options.progress, plans, labels)
    say = log or progress.log
    writer = JsonReportWriter(out / "report.json", run)
    lock = threading.Lock()
    active: dict[str, GuideRun] = {}
    cancelled = threading.Event()
    backend = options.backend

    for name in reap_stale() if backend is None else ():
        say(f"removed a VM left by a dead run: {name}")
    scheduler, probes = _scheduler(options, say)
    if probes and not options.local:  # no guide runs here: report the remote host's acceleration
        run.host = HostInfo(accel=probes[0].host.accel, why=f"{probes[0].label}: {probes[0].host.why}",
                            cpu_mode=probes[0].host.cpu_mode, nested=probes[0].host.nested)
    if options.guide.package_cache:
        options = replace(options, guide=replace(options.guide, package_cache=backend is None
                                                 and _package_cache(options, say)))
    # Images first, one at a time: parallel guides then only read the cached bases. The long waits of a first run
    # (image build, saving a booted machine) say what they do, how long they took last time here, and go on saying.
    phases = Phases(say)
    for image in sorted({options.guide.image or p.image for p in plans if any(s.status == "run" for s in p.steps)}):
        if backend is None:
            with phases.phase("image", f"building image {image}", key=f"image {image}") as ph:
                build_image(image, log=ph.watch(("building image",), say))
    prefixes, board = _prefixes(plans, options, say, phases) if backend is None else (None, None)

    def one(index: int, plan: Plan) -> tuple[DocResult, list[Candidate]]:
        if cancelled.is_set():
            raise KeyboardInterrupt
        def on_output(step: Step, stream: str, text: str) -> None:
            progress.update(labels[index], f"line {step.line}: {step.command.splitlines()[0][:50]}")

        vm_host = scheduler.acquire() if scheduler is not None else None
        if cancelled.is_set():  # woke up after Ctrl-C: boot nothing more
            if scheduler is not None:
                scheduler.release(vm_host)
            raise KeyboardInterrupt
        gr = GuideRun(
            plan=plan,
            options=options.guide,
            artifacts_dir=out / "artifacts" / slug(labels[index]),
            run_id=f"{run.run_id}-{index}",
            on_output=on_output,
            log=say,
            vm_host=vm_host,
            backend=backend,
        )
        if vm_host is None and prefixes is not None:  # shared prefixes (run/prefix.py)
            gr.board = board
            gr.prefix_wait = prefixes.wait.get(index)
            gr.prefix_publish = dict(prefixes.publish.get(index, {}))
        with lock:
            active[labels[index]] = gr
        progress.update(labels[index], "booting")
        try:
            result = gr.run_all()
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a harness fault in one guide must not lose the others
            result = gr.abort(f"{type(exc).__name__}: {exc}")
        finally:
            with lock:
                active.pop(labels[index], None)
            if scheduler is not None:
                scheduler.release(vm_host)
        progress.update(labels[index], result.status, advance=len(plan.steps))
        return result, list(gr.proposals)

    def trial(index: int, n: int, cand: Candidate) -> tuple[DocResult, float]:
        """One candidate fix of guide `index` tried in a machine of its own (run/fixes.py)."""
        if cancelled.is_set():
            raise KeyboardInterrupt
        vm_host = scheduler.acquire() if scheduler is not None else None
        label = f"{labels[index]} (fix {n + 1})"
        gr = GuideRun(plan=trial_plan(plans[index], cand), options=trial_options(options.guide),
                      artifacts_dir=out / "artifacts" / slug(labels[index]) / "fixes" / str(n + 1),
                      run_id=f"{run.run_id}-{index}-f{n + 1}", log=say, vm_host=vm_host, backend=backend)
        with lock:
            active[label] = gr
        t0 = time.monotonic()
        try:
            if cancelled.is_set():
                raise KeyboardInterrupt
            result = gr.run_all()
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a harness fault in one candidate's run: that candidate proves nothing
            result = gr.abort(f"{type(exc).__name__}: {exc}")
        finally:
            with lock:
                active.pop(label, None)
            if scheduler is not None:
                scheduler.release(vm_host)
        return result, time.monotonic() - t0

    def on_term(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_term) if threading.current_thread() is threading.main_thread() else None
    workers = options.jobs or (scheduler.total if scheduler is not None else default_jobs())
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="guide")
    t_guides = time.monotonic()
    # candidate fixes run in the same pool as the guides, so a run never has more than `workers` machines up
    pending: dict[Future, tuple[int, int]] = {}  # future -> (guide index, candidate index; -1: the guide)
    trials: dict[int, tuple[DocResult, list[Candidate], list[Fix | None]]] = {}
    try:
        pending.update({pool.submit(one, i, p): (i, -1) for i, p in enumerate(plans)})
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i, n = pending.pop(fut)
                if n < 0:
                    result, proposals = fut.result()
                    if proposals:
                        say(f"{labels[i]}: trying {len(proposals)} candidate fix(es) for the failed step")
                        trials[i] = (result, proposals, [None] * len(proposals))
                        pending.update({pool.submit(trial, i, k, c): (i, k) for k, c in enumerate(proposals)})
                        continue
                else:
                    before, proposals, judged = trials[i]
                    after, wall = fut.result()
                    judged[n] = fix = judge(before, after, proposals[n], wall)
                    say(f"{labels[i]}: fix {n + 1}: {fix.candidate.description}: {fix.verdict.status} "
                        f"({fix.verdict.duration_s:.1f} s): {fix.verdict.reason}")
                    if any(j is None for j in judged):
                        continue
                    fixes = [j for j in judged if j is not None]
                    result = attach(before, fixes)
                with lock:
                    run.docs.append(result)
                    writer.add_doc(result)
    except KeyboardInterrupt:
        cancelled.set()
        with lock:
            machines = [gr.machine for gr in active.values() if gr.machine is not None]
        for m in machines:  # the threads' own cleanup may be stuck in a step: end the VMs now
            try:
                m.destroy()
            except Exception:
                pass
        pool.shutdown(wait=False, cancel_futures=True)
        # a thread may be half-way through starting a VM it has not handed over yet: give the threads
        # a moment to unwind, then sweep this run's own VMs by its id
        deadline = time.monotonic() + 15
        for t in list(getattr(pool, "_threads", ())):
            t.join(max(0.0, deadline - time.monotonic()))
        from doctest_runner.vm import remove_run_vms  # lazy: the VM layer loads paramiko and libvirt

        with contextlib.suppress(Exception):
            remove_run_vms(run.run_id)
        progress.stop()
        raise
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    pool.shutdown(wait=True)
    progress.stop()
    phases.spent["guides"] = time.monotonic() - t_guides
    if phases.waited:  # a first run (or a rebuilt image): where its time went
        say(phases.summary())
    order = {(p.path, p.image): i for i, p in enumerate(plans)}
    run.docs.sort(key=lambda d: order.get((d.path, d.image), 0))
    writer.finish()
    if options.guide.suggest_fixes:
        for note in write_run_fixes(run, out):
            say(note)
    if options.guide.fast and backend is None:
        from doctest_runner.vm import store  # lazy: the VM layer loads only for a run that used VMs

        try:
            store.prune(options.cache_max or store.DEFAULT_MAX_SIZE, log=say)
        except Exception as exc:  # the cache limit is housekeeping: never fail a run over it
            say(f"cache prune failed: {exc}")
    if options.guide.package_cache:
        from doctest_runner.vm import pkgcache  # lazy: the VM layer loads paramiko and libvirt

        with contextlib.suppress(OSError):
            pkgcache.prune(pkgcache.MAX_SIZE)
    write_all(run, out, codeowners=options.codeowners, source_root=options.source_root)
    if options.history:
        History(options.history).record(run)
    return run


def _prefixes(plans: list[Plan], options: RunOptions, say: Callable[[str], None], phases: Phases):
    """Saved states first (one cold boot per image, once), then which guides share their first steps."""
    if not options.guide.fast or not options.local:
        return None, None
    from doctest_runner.vm import ensure_state, qemu_version  # lazy: the VM layer loads paramiko and libvirt

    keys: list[list[str] | None] = []
    host = options.guide.host
    assert host is not None  # run_plans passed its decided host down
    for plan in plans:
        name = options.guide.image or plan.image
        if not any(s.status == "run" for s in plan.steps):
            keys.append(None)
            continue
        image = build_image(name, log=lambda _m: None)
        try:
            with phases.phase("saved machine", f"saving a booted {name} machine",
                              key=f"saved machine {name}") as ph:
                ensure_state(image, host=host, memory_mb=options.guide.memory_mb,
                             boot_timeout=options.guide.boot_timeout, log=ph.watch(("saving a booted",), say))
        except Exception as exc:  # each guide falls back to a cold boot and says so
            say(f"could not save a booted {name} machine: {exc}")
        mkey = machine_key(image=image.name, recipe_hash=image.recipe_hash, qemu=qemu_version(), accel=host.accel,
                           memory_mb=options.guide.memory_mb)
        keys.append(guide_keys(plan, mkey) if options.prefixes else None)
    pp = plan_prefixes(keys)
    for i, (k, key, leader) in sorted(pp.wait.items()):
        say(f"shared prefix: {plans[i].path} starts from {plans[leader].path} after {k} step(s) ({key})")
    return pp, PrefixBoard()


def _package_cache(options: RunOptions, say: Callable[[str], None]) -> bool:
    """Start the guests' package cache (vm/pkgcache.py) when it is installed; whether guides may use it."""
    if not options.local:
        return False
    from doctest_runner.vm import pkgcache  # lazy: the VM layer loads paramiko and libvirt

    try:
        cache = pkgcache.start(log=say)
    except Exception as exc:  # noqa: BLE001 - an optimisation: the guides download direct instead
        say(f"package cache: off ({exc})")
        return False
    say(f"package cache: {cache.describe() if cache.running else 'off: ' + cache.describe()}")
    return cache.running


def _scheduler(options: RunOptions, say: Callable[[str], None]):
    """With --host: slots per host from its free memory and cores (the local host's from `default_jobs`)."""
    if not options.hosts:
        return None, []
    from doctest_runner.vm import Scheduler, probe_hosts  # lazy: the VM layer loads paramiko and libvirt

    slots: dict[str | None, int] = {None: default_jobs()} if options.local else {}
    probes = []
    for probe in probe_hosts(options.hosts, options.guide.memory_mb, options.guide.accel):
        say(f"host {probe.label}: {probe.slots} VM slot(s) ({probe.free_mb} MiB free, {probe.cores} cores, "
            f"libvirt {probe.libvirt_version}); acceleration {probe.host.accel} ({probe.host.why})")
        slots[probe.uri] = probe.slots
        probes.append(probe)
    return Scheduler(slots), probes


def check_host_ready(accel: str | None = None) -> HostInfo:
    """Pick the acceleration once for the run (and say why) before anything boots, from the user's request
    (`vm.requested_accel`: --accel, else $DOCTEST_RUNNER_ACCEL) or the probe; it is passed down from here."""
    from doctest_runner.vm import decide_host  # lazy: the VM layer loads paramiko and libvirt

    try:
        return decide_host(accel)
    except DoctestError:
        raise
    except Exception as exc:
        raise DoctestError(f"cannot use the VM host: {exc}") from None
