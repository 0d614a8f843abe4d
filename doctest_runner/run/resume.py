"""Where one guide's run starts and where it keeps checkpoints: `--resume`, shared prefixes, a checkpoint per step.

Why a class of its own: the choice of a starting checkpoint (the longest unchanged run of steps, or the prefix
another guide shares), the board other guides wait on, and which of the guide's checkpoints is still worth its
memory image are one piece of state with one owner. `GuideRun` owns a `Resume` for a local VM and hands it the
machine and session it needs for each call; the Resume writes only its own fields, and what the guide must
change (go on in a restored VM after a stopped save) it does itself through the callback it passes in.
Saving and finding machines is vm/store/'s job; the keys come from run/checkpoint.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from doctest_runner.image import BuiltImage
from doctest_runner.model import Machine, Plan, Step, StepResult
from doctest_runner.run.checkpoint import checkpoint_points, guide_keys, guide_steps, machine_key
from doctest_runner.run.prefix import PrefixBoard
from doctest_runner.vm import store

Log = Callable[[str], None]


@dataclass
class Resume:
    """A guide's checkpoint keys and the checkpoints it starts from, saves, and publishes to other guides."""

    guide: str  # the guide's path, for the log
    seq: list[Step]  # setup steps, then steps: what keys[k] covers the first k of
    keys: list[str]  # keys[k]: the checkpoint after k steps (run/checkpoint.sequence_keys)
    image: BuiltImage
    memory_mb: int
    qemu: str
    log: Log
    board: PrefixBoard | None = None
    prefix_wait: tuple[int, str, int] | None = None  # shared prefix: (steps, key, leader index) to start from
    prefix_publish: dict[int, str] = field(default_factory=dict)  # k -> key other guides wait for
    own: store.SavedMachine | None = None  # the guide's last checkpoint saved by this run

    @classmethod
    def for_plan(cls, plan: Plan, image: BuiltImage, *, accel: str, qemu: str, memory_mb: int, log: Log,
                 board: PrefixBoard | None = None, prefix_wait: tuple[int, str, int] | None = None,
                 prefix_publish: dict[int, str] | None = None) -> Resume:
        """The keys of `plan` on this image, QEMU, acceleration and memory (the same keys the runner's
        shared-prefix planning computed, from the one `machine_key`)."""
        root = machine_key(image=image.name, recipe_hash=image.recipe_hash, qemu=qemu, accel=accel,
                           memory_mb=memory_mb)
        return cls(guide=plan.path, seq=guide_steps(plan), keys=guide_keys(plan, root), image=image,
                   memory_mb=memory_mb, qemu=qemu, log=log, board=board, prefix_wait=prefix_wait,
                   prefix_publish=dict(prefix_publish or {}))

    def find_start(self, *, resume: bool, step_timeout: float) -> tuple[store.SavedMachine | None, int]:
        """The checkpoint the guide starts from and how many steps it covers ((None, 0): from step one).
        With `resume`, the last checkpoint whose steps above are unchanged; a longer shared prefix is waited for
        (up to `step_timeout` per step it covers, plus ten minutes). Posts None for the prefixes this guide
        will not reach from where it starts, so no other guide waits for them."""
        seq, keys = self.seq, self.keys
        best: store.SavedMachine | None = None
        k_best = 0
        self.own = None
        if resume:
            for k in range(len(seq), 0, -1):
                entry = store.find(keys[k])
                if entry is not None:
                    best, k_best = entry, k
                    break
            if best is None:
                self.log(f"{self.guide}: resume: no checkpoint matches the steps above the failed one; running "
                         "from the start")
            else:
                where = f"step {seq[k_best].path}:{seq[k_best].line}" if k_best < len(seq) else "after its last step"
                self.log(f"{self.guide}: resume: {k_best} step(s) unchanged, from {where} (checkpoint {keys[k_best]})")
        if self.prefix_wait is not None and self.board is not None:
            k, key, _leader = self.prefix_wait
            if k > k_best:
                shared = self.board.wait(key, timeout=step_timeout * max(1, k) + 600)
                if shared is not None:
                    best, k_best = shared, k
                    self.log(f"{self.guide}: shared prefix: {k} step(s) from checkpoint {key}")
                else:
                    self.log(f"{self.guide}: shared prefix {key} not reached by the guide it shares with; from "
                             "the start")
        for k, key in self.prefix_publish.items():  # never passed through: the followers start on their own
            if k <= k_best and self.board is not None and key != keys[k_best]:
                self.board.post(key, None)
            elif k == k_best and self.board is not None:
                self.board.post(key, best)
        return best, k_best

    def points(self, mode: str, resumed: int) -> set[int]:
        """After how many steps this run saves a checkpoint: by `mode`, plus the prefixes others wait for, and
        none within the `resumed` steps that came with the starting checkpoint."""
        return (checkpoint_points(self.seq, mode) | set(self.prefix_publish)) - set(range(resumed + 1))

    def restored_result(self, step: Step, resumed: int) -> StepResult:
        """The verdict of a step that came with the starting checkpoint instead of being run."""
        if step.status == "skip":
            return StepResult(step=step, status="skipped", explanation=step.reason)
        return StepResult(step=step, status="passed",
                          explanation=f"passed in a previous run (checkpoint {self.keys[resumed]})")

    def checkpoint(self, k: int, machine: Machine, *, session_dir: str, before_stop: Callable[[], None],
                   go_on: Callable[[int, store.SavedMachine, str], None]) -> None:
        """Save the guide's VM after k steps. It goes on running (a live external snapshot); where libvirt
        refuses that, it is saved stopped (`before_stop` closes the session first) and `go_on(k, entry,
        session_dir)` continues the guide in a VM restored from the save (same shell state)."""
        key = self.keys[k]
        t0 = time.monotonic()
        done = store.checkpoint(machine, key, image=self.image, memory_mb=self.memory_mb, guide=self.guide,
                                steps=k, session_dir=session_dir, before_stop=before_stop, qemu=self.qemu,
                                log=self.log)
        if done.how != "kept the one saved before":
            prev = self.own
            if prev is not None and prev.path.name not in self.prefix_publish.values():
                store.remove(prev)  # only the last good checkpoint of a guide is worth its memory image
            self.own = done.entry
            if done.stopped:
                go_on(k, done.entry, session_dir)
        if self.board is not None and k in self.prefix_publish:
            self.board.post(self.prefix_publish[k], done.entry)
        self.log(f"{self.guide}: checkpoint after {k} step(s): {key} ({done.how}, {time.monotonic() - t0:.1f} s)")

    def compact(self) -> None:
        """Compress the memory image of the checkpoint this run keeps for the guide (after its VM is gone): a
        run's checkpoints then take about a quarter of the disk (vm/store compact)."""
        if self.own is None or not self.own.path.exists():
            return
        t0 = time.monotonic()
        saved = store.compact(self.own, log=self.log)
        if saved:
            self.log(f"{self.guide}: checkpoint {self.own.path.name} compressed, {store.human(saved)} less "
                     f"({time.monotonic() - t0:.1f} s)")


def adopt_session(machine: Machine, old_dir: str, new_dir: str) -> None:
    """Carry the checkpointed shell state (cwd, variables, functions...) from the session directory the
    checkpoint was taken in (`old_dir`; empty: none was saved) into the new session's directory."""
    if not old_dir:
        return
    cmd = f"for f in state.0 state.1 state.cur; do [ -e {old_dir}/$f ] && cp -p {old_dir}/$f {new_dir}/; done; true"
    client = machine.connect()
    try:
        _, out, _ = client.exec_command(cmd, timeout=60)
        out.channel.recv_exit_status()
    finally:
        client.close()
