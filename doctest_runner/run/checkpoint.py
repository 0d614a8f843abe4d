"""Checkpoints of a guide's VM, keyed by content, and the size-limited LRU cache they share with saved states.

A checkpoint after k steps is named by a hash of what made the machine what it is: the image (recipe hash,
QEMU, accel, memory), the fixtures and variables, and the first k steps' command text, options and order
(not their file or line: two guides that start alike share it). So `--resume` finds the checkpoint before a
failed step exactly when the text above that step is unchanged, and shared prefixes fall out of the same key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from pathlib import Path

from doctest_runner.model import Plan, Step

if TYPE_CHECKING:  # vm/snapshot is imported where used: the VM layer loads only when a run needs it
    from doctest_runner.vm.snapshot import SavedMachine

DEFAULT_MAX_SIZE = 10 * 1024**3  # fits a CI runner's disk beside the images; `doctor` warns when it does not
CHECKPOINT_MODES = ("step", "heading", "off")


def step_fingerprint(step: Step) -> dict:
    """What a step does, without where it is written: command text, kind, file target, options, status."""
    return {"kind": step.kind, "command": step.command, "file": step.file_path, "status": step.status,
            "options": asdict(step.options)}


def file_digest(path: str) -> str:
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


def sequence_keys(steps: Sequence[Step], machine_key: str, plan: Plan | None = None) -> list[str]:
    """keys[k]: the checkpoint key after the first k steps (keys[0]: the fresh machine), len(steps)+1 of them."""
    h = hashlib.sha256()
    h.update(machine_key.encode())
    if plan is not None:
        h.update(json.dumps({"vars": plan.vars, "fixtures": [(file_digest(local), remote)
                                                             for local, remote in plan.fixtures]},
                            sort_keys=True).encode())
    keys = [h.copy().hexdigest()[:24]]
    for step in steps:
        h.update(b"\x1e" + json.dumps(step_fingerprint(step), sort_keys=True).encode())
        keys.append(h.copy().hexdigest()[:24])
    return keys


def checkpoint_points(steps: Sequence[Step], mode: str) -> set[int]:
    """After how many steps a checkpoint is taken (k in 1..n-1): every step, or where the heading changes."""
    if mode == "step":
        return set(range(1, len(steps)))
    if mode == "heading":
        return {i for i in range(1, len(steps)) if steps[i].heading != steps[i - 1].heading}
    return set()


def parse_size(text: str) -> int:
    """'20G', '500M', '1.5GiB', '123' (bytes) -> bytes."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.I)
    if not m:
        raise ValueError(f"bad size {text!r} (e.g. 20G, 500M)")
    mult = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[m.group(2).upper()]
    return int(float(m.group(1)) * mult)


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


# --- the cache of saved machines -------------------------------------------------------------------------


@dataclass
class Entry:
    """A saved state or checkpoint as the cache sees it."""

    kind: str  # "state" | "checkpoint"
    path: Path
    size: int  # bytes of its memory image (layers are counted separately: they are shared)
    last_used: float
    chain: list[str]


def _alloc(p: Path) -> int:
    try:
        return p.stat().st_blocks * 512
    except OSError:
        return 0


def entries() -> list[Entry]:
    from doctest_runner.vm.snapshot import checkpoints_dir, states_dir

    out = []
    for kind, root in (("state", states_dir()), ("checkpoint", checkpoints_dir())):
        for d in sorted(root.iterdir()):
            meta = d / "meta.json"
            if not d.is_dir() or not meta.is_file():
                continue
            try:
                chain = list(json.loads(meta.read_text()).get("chain", []))
                used = meta.stat().st_mtime
            except (OSError, ValueError):
                continue
            out.append(Entry(kind=kind, path=d, size=_alloc(d / "memory.sav"), last_used=used, chain=chain))
    return out


def layer_sizes() -> dict[str, int]:
    from doctest_runner.vm.snapshot import layers_dir

    return {p.name: _alloc(p) for p in layers_dir().glob("*.qcow2")}


def total_size(ents: list[Entry] | None = None, layers: dict[str, int] | None = None) -> int:
    ents = entries() if ents is None else ents
    layers = layer_sizes() if layers is None else layers
    return sum(e.size for e in ents) + sum(layers.values())


def usage_text(max_size: int | None = None) -> str:
    """`cache: 1.2 GiB of saved machines and checkpoints (3 entries, 9 layers; limit 10.0 GiB)` for summaries."""
    ents, layers = entries(), layer_sizes()
    limit = DEFAULT_MAX_SIZE if max_size is None else max_size
    return (f"cache: {human(total_size(ents, layers))} of saved machines and checkpoints ({len(ents)} entries, "
            f"{len(layers)} layers; limit {human(limit)}, `doctest-runner cache info`)")


def plan_eviction(ents: list[Entry], layers: dict[str, int], in_use: set[str], max_size: int) -> list[Entry]:
    """Least recently used first, evict entries until memory images plus the layers still referenced fit
    `max_size` (pure: unit-tested). Layers under running VMs always count and are never freed."""
    keep = sorted(ents, key=lambda e: e.last_used)
    evicted: list[Entry] = []

    def size(cur: list[Entry]) -> int:
        needed = set(in_use)
        for e in cur:
            needed.update(e.chain)
        return sum(e.size for e in cur) + sum(layers.get(name, 0) for name in needed)

    while keep and size(keep) > max_size:
        evicted.append(keep.pop(0))
    return evicted


def prune(max_size: int = DEFAULT_MAX_SIZE, log: Callable[[str], None] = lambda _m: None) -> tuple[int, int]:
    """Evict LRU saved machines over `max_size`, then delete layers nothing refers to.
    Returns (entries removed, bytes freed)."""
    from doctest_runner.image.cache import file_lock, remove_tree
    from doctest_runner.vm.snapshot import layers_dir, layers_in_use, states_dir

    with file_lock(states_dir() / ".locks" / "prune.lock"):
        before = total_size()
        ents = entries()
        layers = layer_sizes()
        in_use = layers_in_use()
        gone = plan_eviction(ents, layers, in_use, max_size)
        for e in gone:
            used = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.last_used))
            log(f"evicted {e.kind} {e.path.name} (last used {used})")
            remove_tree(e.path)
        needed = set(in_use)
        for e in entries():
            needed.update(e.chain)
        now = time.time()
        for name in layers:
            p = layers_dir() / name
            # a layer younger than a minute may belong to a save in progress
            if name not in needed and now - p.stat().st_mtime > 60:
                p.unlink(missing_ok=True)
        return len(gone), max(0, before - total_size())


def checkpoint_names() -> set[str]:
    from doctest_runner.vm.snapshot import checkpoints_dir

    return {p.name for p in checkpoints_dir().iterdir() if not p.name.startswith(".")}


def forget_since(before: set[str]) -> int:
    """Remove the checkpoints made since `checkpoint_names()` returned `before`, and the layers only they used
    (tests and benchmarks clean up after themselves this way). Returns how many went."""
    from doctest_runner.image.cache import remove_tree
    from doctest_runner.vm.snapshot import checkpoints_dir

    gone = checkpoint_names() - before
    for name in gone:
        remove_tree(checkpoints_dir() / name)
    prune(max_size=1 << 62)  # evicts nothing; deletes layers no saved machine refers to any more
    return len(gone)


# --- what GuideRun does with them (kept here so run/guide.py only calls in) ---------------------------------

from doctest_runner.vm.snapshot import fresh_machine  # noqa: E402


def machine_key(gr: Any, image: Any) -> str:
    """The fresh machine a guide starts on: image recipe, QEMU, accel, memory."""
    from doctest_runner.vm.accel import choose_accel
    from doctest_runner.vm.snapshot import qemu_version

    return f"{image.name}:{image.recipe_hash}:{qemu_version()}:{choose_accel(gr.options.accel).accel}:" \
           f"{gr.options.memory_mb}"


def _seq(gr: Any) -> list[Step]:
    return [*gr.plan.setup, *gr.plan.steps]


def _load(key: str) -> Any:
    from doctest_runner.vm.snapshot import SavedMachine, checkpoints_dir

    entry = SavedMachine.load(checkpoints_dir() / key)
    return entry if entry is not None and not entry.problems() else None


def find_start(gr: Any, image: Any) -> Any:
    """The checkpoint a guide starts from (shared prefix or --resume), setting `gr.resumed`; None: step one."""
    seq = _seq(gr)
    gr._image = image
    gr._keys = sequence_keys(seq, machine_key(gr, image), gr.plan)
    gr._own_checkpoint = None
    best, k_best = None, 0
    if gr.options.resume:
        for k in range(len(seq), 0, -1):
            entry = _load(gr._keys[k])
            if entry is not None:
                best, k_best = entry, k
                break
        if best is None:
            gr.log(f"{gr.plan.path}: resume: no checkpoint matches the steps above the failed one; running from "
                   "the start")
        else:
            where = f"step {seq[k_best].path}:{seq[k_best].line}" if k_best < len(seq) else "after its last step"
            gr.log(f"{gr.plan.path}: resume: {k_best} step(s) unchanged, from {where} (checkpoint {gr._keys[k_best]})")
    if gr.prefix_wait is not None and gr.board is not None:
        k, key, leader = gr.prefix_wait
        if k > k_best:
            entry = gr.board.wait(key, timeout=gr.options.default_timeout * max(1, k) + 600)
            if entry is not None:
                best, k_best = entry, k
                gr.log(f"{gr.plan.path}: shared prefix: {k} step(s) from checkpoint {key}")
            else:
                gr.log(f"{gr.plan.path}: shared prefix {key} not reached by the guide it shares with; from the start")
    for k, key in gr.prefix_publish.items():  # never passed through: the followers start on their own
        if k <= k_best and gr.board is not None and key != gr._keys[k_best]:
            gr.board.post(key, None)
        elif k == k_best and gr.board is not None:
            gr.board.post(key, best)
    gr.resumed = k_best
    return best


def adopt_session(gr: Any, entry: Any) -> None:
    """Carry the checkpointed shell state (cwd, variables, functions...) into the new session's directory."""
    if not entry.session_dir:
        return
    old, new = entry.session_dir, gr._session.dir
    cmd = f"for f in state.0 state.1 state.cur; do [ -e {old}/$f ] && cp -p {old}/$f {new}/; done; true"
    client = gr.machine.connect()
    try:
        _, out, _ = client.exec_command(cmd, timeout=60)
        out.channel.recv_exit_status()
    finally:
        client.close()


def restored_result(gr: Any, step: Step) -> Any:
    from doctest_runner.model import StepResult

    if step.status == "skip":
        return StepResult(step=step, status="skipped", explanation=step.reason)
    return StepResult(step=step, status="passed",
                      explanation=f"passed in a previous run (checkpoint {gr._keys[gr.resumed]})")


def points(gr: Any, seq: list[Step]) -> set[int]:
    if getattr(gr, "_keys", None) is None:  # remote host: no checkpoints there
        return set()
    return (checkpoint_points(seq, gr.options.checkpoint) | set(gr.prefix_publish)) - set(range(gr.resumed + 1))


def checkpoint(gr: Any, k: int) -> None:
    """Save the guide's VM after k steps. It goes on running (a live external snapshot); where libvirt refuses
    that, it is saved stopped and the guide goes on in a VM restored from the save (same shell state)."""
    from doctest_runner.image.cache import remove_tree
    from doctest_runner.model import DoctestError
    from doctest_runner.vm.snapshot import (
        BUILD_VERSION,
        SavedMachine,
        checkpoint_running,
        checkpoints_dir,
        qemu_version,
        save_running,
    )

    key = gr._keys[k]
    entry = _load(key)
    t0 = time.monotonic()
    m = gr.machine
    if entry is not None:  # a checkpoint with this key from an earlier run is the same machine: keep that one
        entry.touch()
        how = "kept the one saved before"
    else:
        below = list(m.restored_from.chain) if getattr(m, "restored_from", None) is not None else []
        session_dir = gr._session.dir
        work = Path(tempfile.mkdtemp(prefix=".ckpt-", dir=checkpoints_dir()))
        try:
            try:
                if os.environ.get("DOCTEST_RUNNER_LIVE_CHECKPOINT", "1") == "0":
                    raise DoctestError("live checkpoints are off (DOCTEST_RUNNER_LIVE_CHECKPOINT=0)")
                chain = checkpoint_running(m, work, chain_below=below)
                how = "live"
            except DoctestError as exc:
                gr.log(f"{gr.plan.path}: {exc}; saving it stopped instead")
                gr._session.close()
                chain = save_running(m, work, chain_below=below)
                how = "stopped"
            entry = SavedMachine(path=work, chain=chain, image=gr._image.name, recipe_hash=gr._image.recipe_hash,
                                 base=str(gr._image.base), accel=m.host.accel, memory_mb=gr.options.memory_mb,
                                 vcpus=2, qemu=qemu_version(), build=BUILD_VERSION, user=gr._image.user,
                                 key={"guide": gr.plan.path, "steps": k}, session_dir=session_dir, steps_done=k,
                                 created=time.time())
            entry.write()
            dest = checkpoints_dir() / key
            try:
                os.rename(work, dest)
                entry.path = dest
            except OSError:  # another guide saved the same key meanwhile
                remove_tree(work)
                entry = _load(key)
                if entry is None:
                    raise DoctestError(f"checkpoint {key} vanished") from None
        except BaseException:
            remove_tree(work)
            raise
        prev = gr._own_checkpoint
        if prev is not None and prev.path.name not in gr.prefix_publish.values():
            remove_tree(prev.path)  # only the last good checkpoint of a guide is worth its memory image
        gr._own_checkpoint = entry
        if how == "live":
            m.restored_from = entry  # the running VM now stands on this checkpoint's layers
        else:
            _continue_restored(gr, k, entry, session_dir)
    if gr.board is not None and k in gr.prefix_publish:
        gr.board.post(gr.prefix_publish[k], entry)
    gr.log(f"{gr.plan.path}: checkpoint after {k} step(s): {key} ({how}, {time.monotonic() - t0:.1f} s)")


def _continue_restored(gr: Any, k: int, entry: SavedMachine, old_dir: str) -> None:
    """The guide's VM was stopped by its save: go on in a VM restored from it, with the same shell state."""
    from doctest_runner.exec import GuestSession
    from doctest_runner.model import DoctestError

    stack, gr._stack = gr._stack, contextlib.ExitStack()
    with contextlib.suppress(Exception):
        stack.close()
    machine = gr._stack.enter_context(fresh_machine(
        gr._image, run_id=f"{gr.run_id}-c{k}", workdir=gr.artifacts_dir, accel=gr.options.accel,
        memory_mb=gr.options.memory_mb, boot_timeout=gr.options.boot_timeout, start_from=entry, log=gr.log))
    if getattr(machine, "restored_from", None) is not entry:
        raise DoctestError(f"could not restore checkpoint {entry.path.name} to go on with {gr.plan.path}")
    gr.machine = machine
    gr._session = gr._stack.enter_context(GuestSession(machine, log_dir=gr.artifacts_dir / "steps"))
    entry.session_dir = entry.session_dir or old_dir
    adopt_session(gr, entry)
