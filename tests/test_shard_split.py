"""`run --shard I/N`: every guide in exactly one shard, the same split everywhere, balanced by history."""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doctest_runner.history import History
from doctest_runner.model import DocResult, DoctestError, HostInfo, Plan, RunResult, Step
from doctest_runner.run.shard import (
    MANIFEST_NAME,
    apply_shard,
    assign_paths,
    assign_shards,
    guide_weights,
    history_durations,
    parse_shard,
    select_shard,
    step_weight,
)

REPO = Path(__file__).resolve().parents[1]
KATA = REPO.parent / "shared" / "kata-docs"


def make_plan(path: str, n_steps: int, image: str = "debian-12", skipped: int = 0) -> Plan:
    steps = [Step(id=f"{path}:{i + 1}", path=path, line=i + 1, end_line=i + 1, heading=(), command=f"echo {i}",
                  kind="bare", status="skip" if i < skipped else "run") for i in range(n_steps)]
    return Plan(path=path, steps=steps, image=image)


def paths_of(shards: list[list[Plan]]) -> list[set[str]]:
    return [{p.path for p in shard} for shard in shards]


def makespan(shards: list[list[str]], true_seconds: dict[str, float]) -> float:
    return max(sum(true_seconds[p] for p in shard) for shard in shards)


# -- I/N ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [("1/1", (1, 1)), ("2/4", (2, 4)), (" 3 / 3 ", (3, 3)), ("10/12", (10, 12))])
def test_parse_shard_accepts_one_based_i_of_n(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text,message", [
    ("0/3", "between 1 and 3"), ("4/3", "between 1 and 3"), ("1/0", "at least 1"), ("2", "expected I/N"),
    ("a/b", "expected I/N"), ("-1/2", "expected I/N"), ("1/2/3", "expected I/N"), ("", "expected I/N"),
])
def test_parse_shard_rejects_bad_values_with_a_reason(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_shard(text)


@pytest.mark.parametrize("value", ["0/2", "3/2", "1/0", "x"])
def test_run_with_a_bad_shard_is_a_one_line_usage_error(value, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "doctest_runner", "run", "--shard", value, "--out",
                           str(tmp_path / "out"), str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if "error" in ln]
    assert len(errors) == 1 and "--shard" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # rejected before anything is planned or written


def test_select_shard_rejects_i_outside_1_to_n():
    plans = [make_plan("a.md", 1)]
    for i, n in ((0, 1), (2, 1), (1, 0)):
        with pytest.raises(DoctestError):
            select_shard(plans, i, n, None)


# -- coverage and stability -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def kata_plans():
    if not KATA.is_dir():
        pytest.skip(f"the Kata docs snapshot is not at {KATA}")
    from doctest_runner.plan import plan_paths

    planset = plan_paths([str(KATA)])
    assert len(planset.plans) > 10
    return planset.plans


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_kata_guides_each_land_in_exactly_one_shard(kata_plans, n):
    chosen = [select_shard(kata_plans, i, n, None) for i in range(1, n + 1)]
    all_paths = [p.path for shard in chosen for p in shard]
    assert sorted(all_paths) == sorted(p.path for p in kata_plans)
    assert len(all_paths) == len(set(all_paths))
    assert chosen == assign_shards(kata_plans, n, None)
    if len(kata_plans) >= n:
        assert all(chosen)  # with enough guides no shard is idle


def test_kata_split_is_balanced_by_step_count(kata_plans):
    weights = guide_weights(kata_plans, None).by_guide
    shards = assign_paths(weights, 3)
    loads = sorted(sum(weights[p] for p in s) for s in shards)
    # LPT's bound: the heaviest shard exceeds the lightest by at most the largest single guide
    assert loads[-1] - loads[0] <= max(weights.values())


guide_sets = st.lists(
    st.tuples(st.text(alphabet="abcdef/._-", min_size=1, max_size=12), st.integers(0, 30)),
    min_size=0, max_size=25, unique_by=lambda t: t[0],
)


@settings(max_examples=150, deadline=None)
@given(guides=guide_sets, n=st.integers(1, 7), seed=st.integers(0, 2**32 - 1),
       timed=st.floats(0, 1), data=st.data())
def test_every_guide_in_exactly_one_shard_whatever_the_order(guides, n, seed, timed, data):
    plans = [make_plan(path, steps) for path, steps in guides]
    rng = random.Random(seed)
    durations = {path: data.draw(st.floats(0.5, 5000)) for path, _ in guides if rng.random() < timed}
    shards = assign_shards(plans, n, durations)
    assert len(shards) == n
    seen = [p.path for shard in shards for p in shard]
    assert sorted(seen) == sorted(p for p, _ in guides)
    assert len(seen) == len(set(seen))
    shuffled = plans[:]
    rng.shuffle(shuffled)
    durations_shuffled = dict(sorted(durations.items(), key=lambda kv: rng.random()))
    assert paths_of(assign_shards(shuffled, n, durations_shuffled)) == paths_of(shards)
    for i in range(1, n + 1):
        assert {p.path for p in select_shard(shuffled, i, n, durations)} == paths_of(shards)[i - 1]


def test_plans_of_one_guide_stay_together_and_keep_input_order():
    plans = [make_plan("b.md", 3), make_plan("a.md", 9, image="debian-12"), make_plan("a.md", 9, image="ubuntu-24.04"),
             make_plan("c.md", 2)]
    shards = assign_shards(plans, 2, None)
    where = {id(p): k for k, s in enumerate(shards) for p in s}
    assert where[id(plans[1])] == where[id(plans[2])]
    for shard in shards:  # inside a shard the plans run in the order they were given
        assert shard == [p for p in plans if p in shard]


def test_more_shards_than_guides_leaves_the_extra_shards_empty():
    plans = [make_plan("a.md", 1), make_plan("b.md", 5)]
    shards = assign_shards(plans, 4, None)
    assert paths_of(shards) == [{"b.md"}, {"a.md"}, set(), set()]


def test_ties_are_broken_by_path_not_by_input_order():
    plans = [make_plan(p, 4) for p in ("d.md", "b.md", "a.md", "c.md")]
    assert paths_of(assign_shards(plans, 2, None)) == [{"a.md", "c.md"}, {"b.md", "d.md"}]


def test_skipped_steps_cost_nothing():
    assert step_weight(make_plan("a.md", 10, skipped=10)) == 1
    assert step_weight(make_plan("a.md", 10, skipped=4)) == 7


# -- balancing by the history ---------------------------------------------------------------------
SKEWED = {  # (steps, seconds it really takes): the long guides are not the ones with many steps
    "docs/build-from-source.md": (4, 3600.0),
    "docs/kernel.md": (3, 2400.0),
    "docs/a.md": (20, 60.0),
    "docs/b.md": (18, 50.0),
    "docs/c.md": (16, 45.0),
    "docs/d.md": (15, 40.0),
    "docs/e.md": (12, 30.0),
    "docs/f.md": (10, 30.0),
}


def test_duration_balancing_beats_naive_splitting_on_a_skewed_set():
    plans = [make_plan(p, steps) for p, (steps, _) in SKEWED.items()]
    seconds = {p: s for p, (_, s) in SKEWED.items()}
    n = 2
    by_history = [[p.path for p in s] for s in assign_shards(plans, n, seconds)]
    by_steps = [[p.path for p in s] for s in assign_shards(plans, n, None)]
    ordered = sorted(seconds)
    contiguous = [ordered[: len(ordered) // 2], ordered[len(ordered) // 2:]]
    round_robin = [ordered[k::n] for k in range(n)]
    best = makespan(by_history, seconds)
    assert best < makespan(by_steps, seconds)
    assert best < makespan(contiguous, seconds)
    assert best < makespan(round_robin, seconds)
    assert best == 3600.0  # optimal: the longest guide alone


def test_guides_new_to_the_history_are_priced_at_the_timed_guides_seconds_per_step():
    plans = [make_plan("old.md", 9), make_plan("new.md", 19)]  # weights 10 and 20 step units
    w = guide_weights(plans, {"old.md": 100.0, "gone.md": 5.0})
    assert w.basis == "history" and w.timed == 1
    assert w.by_guide == {"old.md": 100.0, "new.md": 200.0}
    assert guide_weights(plans, {"gone.md": 5.0}).basis == "steps"
    assert guide_weights(plans, {}).by_guide == {"old.md": 10.0, "new.md": 20.0}


def _doc(path: str, seconds: float, status: str = "passed", image: str = "debian-12") -> DocResult:
    return DocResult(path=path, image=image, status=status, duration_s=seconds)


def _record(history: History, run_id: str, docs: list[DocResult]) -> None:
    history.record(RunResult(run_id=run_id, started_at="2026-01-01T00:00:00+00:00",
                             host=HostInfo(accel="tcg", why="test"), docs=docs))


def test_history_durations_are_the_median_of_recent_runs_read_only(tmp_path):
    db = tmp_path / "history.sqlite"
    history = History(db)
    for k, (a, b) in enumerate([(100, 10), (110, 12), (900, 11), (120, 13), (130, 14), (140, 15)]):
        _record(history, f"r{k}", [_doc("a.md", a), _doc("b.md", b), _doc("b.md", 1, image="ubuntu-24.04")])
    _record(history, "r-skip", [_doc("a.md", 0.0, status="skipped"), _doc("c.md", 0.0)])
    before = db.read_bytes()
    got = history_durations(db)
    assert db.read_bytes() == before
    # last five runs of a.md: 110, 900, 120, 130, 140 -> 130 (the 900 s stuck boot does not count)
    assert got == {"a.md": 130.0, "b.md": 14.0}  # b.md: both images of a run summed
    assert history_durations(db, runs=1) == {"a.md": 140.0, "b.md": 16.0}


def test_history_that_does_not_exist_yet_is_empty_and_a_bad_one_is_an_error(tmp_path):
    assert history_durations(tmp_path / "none.sqlite") == {}
    assert history_durations(None) == {}
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database at all\n" * 100)
    with pytest.raises(DoctestError) as exc:
        history_durations(bad)
    assert str(bad) in str(exc.value) and "\n" not in str(exc.value)


# -- what run does with it ------------------------------------------------------------------------
def test_apply_shard_writes_the_manifest_and_an_unsharded_run_removes_it(tmp_path):
    plans = [make_plan(p, steps) for p, (steps, _) in SKEWED.items()]
    db = tmp_path / "h.sqlite"
    _record(History(db), "r1", [_doc(p, s) for p, (_, s) in SKEWED.items()])
    messages: list[str] = []
    out = tmp_path / "out"
    chosen = apply_shard(plans, (1, 2), history=db, out_dir=out, log=messages.append)
    assert [p.path for p in chosen] == ["docs/build-from-source.md"]
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["shard"] == [1, 2] and manifest["basis"] == "history"
    assert manifest["assigned"] == ["docs/build-from-source.md"]
    assert manifest["guides"] == sorted(SKEWED)
    assert "shard 1/2: 1 of 8 guide(s)" in messages[0] and "history durations (8 of 8" in messages[0]
    assert apply_shard(plans, None, history=db, out_dir=out) is plans
    assert not (out / MANIFEST_NAME).exists()


def test_an_empty_shard_is_said_and_still_gets_a_manifest(tmp_path):
    messages: list[str] = []
    assert apply_shard([make_plan("a.md", 2)], (2, 2), history=None, out_dir=tmp_path, log=messages.append) == []
    assert json.loads((tmp_path / MANIFEST_NAME).read_text())["assigned"] == []
    assert any("no guides" in m for m in messages)
