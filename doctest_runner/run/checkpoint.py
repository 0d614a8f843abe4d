"""The keys of a guide's checkpoints, computed from content (pure: no VM, no cache folder).

A checkpoint after k steps is named by a hash of what made the machine what it is: the image (recipe hash,
QEMU, accel, memory), the fixtures and variables, and the first k steps' command text, options and order
(not their file or line: two guides that start alike share it). So `--resume` finds the checkpoint before a
failed step exactly when the text above that step is unchanged, and shared prefixes fall out of the same key.
The machine part of every key comes from `machine_key`, the one place that builds it (the runner's shared-prefix
planning and each guide's resume must agree on it). Saving and finding checkpoints is vm/store/'s job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from doctest_runner.model import Plan, Step

CHECKPOINT_MODES = ("step", "heading", "off")


def step_fingerprint(step: Step) -> dict:
    """What a step does, without where it is written: command text, kind, file target, options, status."""
    return {"kind": step.kind, "command": step.command, "file": step.file_path, "status": step.status,
            "options": asdict(step.options)}


def file_digest(path: str) -> str:
    """A fixture's content (a directory: every file's relative name and bytes), so a changed fixture changes
    the keys; a missing one hashes as such instead of failing the planning."""
    p = Path(path)
    h = hashlib.sha256()
    try:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    h.update(str(f.relative_to(p)).encode() + b"\0" + f.read_bytes())
        else:
            h.update(p.read_bytes())
    except OSError:
        h.update(b"missing")
    return h.hexdigest()


def machine_key(*, image: str, recipe_hash: str, qemu: str, accel: str, memory_mb: int) -> str:
    """The fresh machine a guide starts on: image recipe, QEMU, accel, memory (the root of its keys)."""
    return f"{image}:{recipe_hash}:{qemu}:{accel}:{memory_mb}"


def sequence_keys(steps: Sequence[Step], machine: str, plan: Plan | None = None) -> list[str]:
    """keys[k]: the checkpoint key after the first k steps (keys[0]: the fresh `machine`, a `machine_key`),
    len(steps)+1 of them."""
    h = hashlib.sha256()
    h.update(machine.encode())
    if plan is not None:
        h.update(json.dumps({"vars": plan.vars, "fixtures": [(file_digest(local), remote)
                                                             for local, remote in plan.fixtures]},
                            sort_keys=True).encode())
    keys = [h.copy().hexdigest()[:24]]
    for step in steps:
        h.update(b"\x1e" + json.dumps(step_fingerprint(step), sort_keys=True).encode())
        keys.append(h.copy().hexdigest()[:24])
    return keys


def guide_steps(plan: Plan) -> list[Step]:
    """The sequence a guide's keys cover: its setup steps, then its steps (cleanup runs after, never saved)."""
    return [*plan.setup, *plan.steps]


def guide_keys(plan: Plan, machine: str) -> list[str]:
    """A guide's checkpoint keys: the same for the runner's shared-prefix planning and the guide's own resume."""
    return sequence_keys(guide_steps(plan), machine, plan)


def checkpoint_points(steps: Sequence[Step], mode: str) -> set[int]:
    """After how many steps a checkpoint is taken (k in 1..n-1): every step, or where the heading changes."""
    if mode == "step":
        return set(range(1, len(steps)))
    if mode == "heading":
        return {i for i in range(1, len(steps)) if steps[i].heading != steps[i - 1].heading}
    return set()
