"""Where a guide starts and what it checkpoints (run/resume.py), without a VM: a real Markdown guide, its keys, and
checkpoints laid out in a temporary store as vm/store.py lays them out."""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path

import pytest
from test_store import cache, image, layer, saved  # noqa: F401 - `cache` is a fixture used by name

from doctest_runner.model import Plan
from doctest_runner.plan import plan_paths
from doctest_runner.run.checkpoint import guide_keys, machine_key
from doctest_runner.run.prefix import PrefixBoard
from doctest_runner.run.resume import Resume
from doctest_runner.vm import store

GUIDE = textwrap.dedent("""\
    # Install

    Set up the tool.

    ```console
    $ echo one
    ```

    ## Configure

    ```console
    $ echo two
    ```

    ```console
    $ echo three
    ```
    """)


@pytest.fixture
def plan(tmp_path: Path) -> Plan:
    path = tmp_path / "guide.md"
    path.write_text(GUIDE)
    (p,) = plan_paths([str(path)]).plans
    assert [s.line for s in p.steps] == [6, 12, 16]
    return p


def resume_for(plan: Plan, log: list[str], **kw) -> Resume:
    return Resume.for_plan(plan, image(), accel="tcg", qemu="QEMU 7.2", memory_mb=2048, log=log.append, **kw)


def checkpoint_at(r: Resume, k: int) -> store.SavedMachine:
    if not (store.layers_dir() / "l.qcow2").exists():
        layer("l.qcow2", 4096)
    return saved("checkpoint", r.keys[k], ["l.qcow2"], session_dir=f"/home/user/.doctest/s{k}")


def test_the_machine_key_is_the_one_the_keys_were_always_built_on(plan: Plan):
    root = machine_key(image="debian-12", recipe_hash="abc", qemu="QEMU 7.2", accel="tcg", memory_mb=2048)
    assert root == "debian-12:abc:QEMU 7.2:tcg:2048"  # checkpoints saved before this change keep matching
    r = resume_for(plan, [])
    assert r.keys == guide_keys(plan, root) and len(r.keys) == 4 and r.seq == plan.steps
    assert resume_for(plan, [], prefix_publish={1: "x"}).keys == r.keys
    other = Resume.for_plan(plan, image(), accel="kvm", qemu="QEMU 7.2", memory_mb=2048, log=print)
    assert other.keys[0] != r.keys[0]


def test_resume_starts_after_the_last_unchanged_step(cache, plan: Plan):  # noqa: F811
    log: list[str] = []
    r = resume_for(plan, log)
    checkpoint_at(r, 1)
    best = checkpoint_at(r, 2)
    entry, k = r.find_start(resume=True, step_timeout=60)
    assert k == 2 and entry is not None and entry.path == best.path
    assert log == [f"{plan.path}: resume: 2 step(s) unchanged, from step {plan.path}:16 (checkpoint {r.keys[2]})"]
    assert r.restored_result(plan.steps[0], k).explanation == f"passed in a previous run (checkpoint {r.keys[2]})"
    assert r.points("step", k) == set()  # a checkpoint after step 3 would be after the last step
    assert r.points("heading", 0) == {1}  # "Configure" starts at the second step


def test_resume_without_a_matching_checkpoint_runs_from_the_start(cache, plan: Plan):  # noqa: F811
    log: list[str] = []
    assert resume_for(plan, log).find_start(resume=True, step_timeout=60) == (None, 0)
    assert log == [f"{plan.path}: resume: no checkpoint matches the steps above the failed one; running from the start"]
    log.clear()
    assert resume_for(plan, log).find_start(resume=False, step_timeout=60) == (None, 0) and log == []


def test_a_follower_starts_from_the_prefix_its_leader_posts(cache, plan: Plan):  # noqa: F811
    board = PrefixBoard()
    leader_log: list[str] = []
    leader = resume_for(plan, leader_log, board=board, prefix_publish={2: "shared-2"})
    follower_log: list[str] = []
    follower = resume_for(plan, follower_log, board=board, prefix_wait=(2, "shared-2", 0))
    assert leader.find_start(resume=False, step_timeout=60) == (None, 0)
    got: list[tuple[store.SavedMachine | None, int]] = []
    t = threading.Thread(target=lambda: got.append(follower.find_start(resume=False, step_timeout=60)))
    t.start()
    entry = checkpoint_at(leader, 2)
    board.post("shared-2", entry)
    t.join(10)
    assert got == [(entry, 2)]
    assert follower_log == [f"{plan.path}: shared prefix: 2 step(s) from checkpoint shared-2"]


def test_a_prefix_the_leader_never_reaches_sends_the_follower_to_the_start(cache, plan: Plan):  # noqa: F811
    board = PrefixBoard()
    log: list[str] = []
    board.post("shared-1", None)
    r = resume_for(plan, log, board=board, prefix_wait=(1, "shared-1", 0))
    assert r.find_start(resume=False, step_timeout=60) == (None, 0)
    assert log == [f"{plan.path}: shared prefix shared-1 not reached by the guide it shares with; from the start"]


def test_a_leader_resumed_past_its_published_prefix_frees_the_followers(cache, plan: Plan):  # noqa: F811
    board = PrefixBoard()
    keys = resume_for(plan, []).keys  # run/prefix.py publishes a guide's own keys
    r = resume_for(plan, [], board=board, prefix_publish={1: keys[1], 2: keys[2]})
    at2 = checkpoint_at(r, 2)
    entry, k = r.find_start(resume=True, step_timeout=60)
    assert k == 2
    assert board.wait(keys[1], timeout=0) is None  # it never passes step 1 now: followers start on their own
    got = board.wait(keys[2], timeout=0)  # its starting checkpoint is the one they wait for
    assert got is not None and got.path == at2.path and entry is not None and entry.path == at2.path
    assert r.points("step", k) == set()


def test_checkpoints_keep_only_the_guides_last_and_a_stopped_save_goes_on_restored(cache, plan: Plan,  # noqa: F811
                                                                                  monkeypatch: pytest.MonkeyPatch):
    board = PrefixBoard()
    log: list[str] = []
    r = resume_for(plan, log, board=board, prefix_publish={1: "pub-1"})
    made: dict[str, store.SavedMachine] = {}
    removed: list[str] = []
    how = iter(["live", "stopped", "kept the one saved before"])

    def fake_checkpoint(machine, key, *, steps, session_dir, before_stop, **_kw) -> store.Checkpointed:
        made[key] = made.get(key) or checkpoint_at(r, steps)
        return store.Checkpointed(made[key], next(how))

    monkeypatch.setattr(store, "checkpoint", fake_checkpoint)
    monkeypatch.setattr(store, "remove", lambda e: removed.append(e.path.name))
    went_on: list[tuple[int, str, str]] = []

    def go_on(k: int, entry: store.SavedMachine, old_dir: str) -> None:
        went_on.append((k, entry.path.name, old_dir))

    machine = object()
    r.checkpoint(1, machine, session_dir="/s", before_stop=lambda: None, go_on=go_on)  # type: ignore[arg-type]
    assert r.own is not None and r.own.path.name == r.keys[1] and went_on == [] and removed == []
    posted = board.wait("pub-1", timeout=0)
    assert posted is not None and posted.path.name == r.keys[1]
    r.checkpoint(2, machine, session_dir="/s", before_stop=lambda: None, go_on=go_on)  # type: ignore[arg-type]
    assert removed == [r.keys[1]]  # the earlier one is not a published prefix: its memory image goes
    assert went_on == [(2, r.keys[2], "/s")] and r.own is not None and r.own.path.name == r.keys[2]
    r.checkpoint(2, machine, session_dir="/s", before_stop=lambda: None, go_on=go_on)  # type: ignore[arg-type]
    assert removed == [r.keys[1]] and len(went_on) == 1  # an existing checkpoint changes nothing
    assert [m.split(" (")[0] for m in log] == [f"{plan.path}: checkpoint after {k} step(s): {r.keys[k]}"
                                               for k in (1, 2, 2)]
    assert [m.split(" (")[1].split(",")[0] for m in log] == ["live", "stopped", "kept the one saved before"]
