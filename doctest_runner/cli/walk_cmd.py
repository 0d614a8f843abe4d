"""`doctest-runner walk DOC`: step through one guide in a fresh VM, deciding at each step.

For a reviewer: run a step, skip it, retry a failed one, edit its command first (the
edit is run, the doc is not changed), open a shell in the VM to look around, or quit. An edited
step that then passes can be written into the doc as a fix ([w]rite), with the doc's own formatting,
and only while the doc is the text the walk started from.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from doctest_runner.cli.run_cmd import add_selection_args, load_plans
from doctest_runner.cli.shell_cmd import ssh_argv
from doctest_runner.fix import edited_step, read_source, write_back
from doctest_runner.image import build_image
from doctest_runner.model import DoctestError, Step, StepResult
from doctest_runner.run.guide import GuideOptions, GuideRun, slug
from doctest_runner.run.runner import check_host_ready

HELP = "[r]un  [s]kip  [e]dit  [o]pen shell  [q]uit"
WRITE = "the edited step passed: [w]rite the edit into the doc as a fix, or [n]o (default)"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "walk", help="step through one guide interactively in a fresh VM",
        description="Boot a fresh VM for one guide and go through its steps one at a time: run, skip, retry, "
        "edit the command, write an edited step that passed into the doc, open a shell in the VM, or quit.",
        epilog="exit status: 0 the walk ended; 2 usage or input error (not exactly one guide), or the VM "
        "failed; 130 interrupted\n\nexample:\n  doctest-runner walk docs_under_test/examples/hello-service.md",
    )
    add_selection_args(p)
    p.add_argument("--out", type=Path, default=Path("doctest-out/walk"), metavar="DIR", help="artifacts directory")
    p.add_argument("--timeout", type=float, default=900.0, help="per-step timeout in seconds")
    p.add_argument("--accel", choices=("kvm", "tcg"), help="override the automatic choice of acceleration")
    p.add_argument("--from-checkpoint", action="store_true",
                   help="start from the guide's last good checkpoint (of an earlier `run`) whose steps above are "
                   "unchanged, at the first step after it")
    p.add_argument("--cold-boot", action="store_true",
                   help="boot the VM cold instead of restoring the saved booted machine")
    return p


def _ask(prompt: str) -> str:
    try:
        return input(prompt).strip()
    except EOFError:
        return "q"


def _show(step: Step, index: int, total: int) -> None:
    heading = " > ".join(step.heading)
    print(f"\n[{index}/{total}] {step.path}:{step.line}  [{heading}]")
    if step.status == "skip":
        print(f"  (planned: skip — {step.reason})")
    for line in step.command.splitlines():
        print(f"  | {line}")


def _report(result: StepResult) -> None:
    if result.status == "passed":
        print(f"  passed ({result.duration_s:.1f}s)")
        if result.output_warning:
            print(f"  output differs from the doc: {result.output_warning}")
    else:
        where = result.failed_line or result.step.line
        print(f"  {result.status}: {result.step.path}:{where}: {result.category}: {result.evidence or ''}")
        if result.explanation:
            print(f"  {result.explanation}")


def _edit(step: Step) -> Step | None:
    print("  enter the command to run instead (end with a line holding a single '.'; empty: keep it)")
    lines = []
    while True:
        try:
            line = input("  > ")
        except EOFError:
            break
        if line == ".":
            break
        lines.append(line)
    if not lines:
        return None
    text = "\n".join(lines)
    return replace(step, command=text, line_map=tuple([step.line] * len(lines)), status="run", reason=None)


def _open_shell(guide: GuideRun) -> None:
    m = guide.machine
    if m is None:  # the VM is gone (its boot failed or it was removed)
        print("  no VM to open a shell in")
        return
    cmd = ssh_argv(str(m.key_path), m.ssh_port, m.user, m.ssh_host)
    print(f"  opening: {shlex.join(cmd)}  (exit the shell to come back)")
    subprocess.call(cmd)


def run(args: argparse.Namespace) -> int:
    if len(args.images) > 1:
        raise DoctestError("walk takes one --image (it steps through one guide on one machine)")
    plans, _ = load_plans(args)
    if len(plans) != 1:
        raise DoctestError(f"walk takes one guide; the arguments select {len(plans)}")
    plan = plans[0]
    from doctest_runner.vm import new_run_id, requested_accel  # lazy: the VM layer loads paramiko

    accel = requested_accel(args.accel)  # the user's setting, read once here and passed down
    host = check_host_ready(accel)
    print(f"acceleration: {host.accel} ({host.why})")
    options = GuideOptions(keep_going=True, default_timeout=args.timeout, accel=accel, host=host,
                           fast=not args.cold_boot, resume=args.from_checkpoint, checkpoint="off")
    build_image(plan.image)  # --image is already folded into the plan
    guide = GuideRun(plan=plan, options=options, artifacts_dir=args.out / slug(plan.path), run_id=new_run_id())
    print(f"starting a fresh VM for {plan.path} (restored from the saved booted machine unless --cold-boot) ...")
    guide.start()
    try:
        steps = [*plan.setup, *plan.steps]
        i = guide.resumed  # --from-checkpoint: the steps above came with the checkpoint
        if args.from_checkpoint and i:
            where = f"at {steps[i].path}:{steps[i].line}" if i < len(steps) else "with no step left"
            print(f"walk: {i} step(s) restored from a checkpoint; going on {where}")
        elif args.from_checkpoint:
            print("walk: no checkpoint matches this guide's steps (run it with `doctest-runner run` first); "
                  "from the first step")
        walk_steps(guide, steps, i)
        print("walk: done; removing the VM")
    finally:
        guide.close()
    sys.stdout.flush()
    return 0


class _Written:
    """The doc texts a walk writes into: what each was when the walk started, then after each write."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def before(self, path: str) -> str:
        if path not in self.texts:
            self.texts[path] = read_source(path)
        return self.texts[path]


def _write(original: Step, edited: Step, written: _Written) -> None:
    """[w]: the edit of a step that passed, written into the doc at the step's lines (or why not, one line)."""
    try:
        before = written.before(original.path)
        cand = edited_step(original, edited.command)
        written.texts[original.path] = write_back(original.path, before, [cand])
    except DoctestError as exc:
        print(f"  not written: {exc}")
        return
    edit = cand.edits[0]
    print(f"  written into {edit.path}:{edit.line}" + (f"-{edit.end_line}" if edit.end_line != edit.line else ""))


def walk_steps(guide: GuideRun, steps: list[Step], i: int = 0) -> None:
    """The interactive loop from step `i` on, in `guide`'s started machine. When a step edited here passes, the
    walk asks whether to write the edit into the doc ([w]); the doc must still be the text the walk started on."""
    originals: dict[int, Step] = {}  # index -> the step as planned, for a step edited here
    written = _Written()
    try:
        written.before(guide.plan.path)  # the doc as the walk starts: [w] refuses a doc changed meanwhile
    except DoctestError:
        pass  # not readable here (a fetched doc set's source): [w] says so if asked
    while i < len(steps):
        step = steps[i]
        _show(step, i + 1, len(steps))
        choice = _ask(f"  {HELP} > ").lower()[:1] or "r"
        if choice == "q":
            break
        if choice == "s":
            i += 1
            continue
        if choice == "o":
            _open_shell(guide)
            continue
        if choice == "e":
            edited = _edit(step)
            if edited is not None:
                originals.setdefault(i, step)
                steps[i] = edited
            continue
        if choice != "r":
            print(f"  ? {HELP}")
            continue
        runnable = replace(step, status="run") if step.status == "skip" else step
        result = guide.run_step(runnable)
        _report(result)
        if result.status != "passed":
            print("  [r] retries it, [e] edits it, [s] skips it, [o] opens a shell")
            continue
        if i in originals and _ask(f"  {WRITE} > ").lower()[:1] == "w":
            _write(originals.pop(i), steps[i], written)
        i += 1
