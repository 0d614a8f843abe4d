"""Shards: split one run's guides over N machines, and put the N reports back together.

    plans = select_shard(plans, i, n, history_durations(history_path))   # on CI machine i of n
    run = merge_runs([read_report(d) for d in shard_dirs])              # afterwards, anywhere
    write_run_fixes(run.run, out)          # run --suggest-fixes shards: fixes.md and fixes/<doc>.patch again

The unit is the guide (every plan of one doc path goes to the same shard), because a guide's
steps depend on each other and share one VM. The split must be the same on every machine
without them talking to each other, so it depends only on the set of guide paths, their step
counts and the history; never on argument order, the host or the clock. Each shard run leaves
`shard.json` next to its report so `merge` can tell a missing shard (a CI job that never
uploaded) from a finished run, instead of reporting a green run with guides silently absent.

The fixes of `run --suggest-fixes` shards travel in report.json under their failed steps; the merge
writes fixes.md and the patches again from them with the runner's own writer (`run.fixes.write_run_fixes`), so
the patches are relative to the root an unsharded run would have used, and each doc is read where the
report says it is (relative paths: from the folder `merge` runs in, as `run` read them).

Caveat: every shard must read the *same* history. Shards run one after another against one
history file would each see the others' newly recorded durations and could split differently;
`merge` then reports the guide that no shard ran.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from doctest_runner.history import guide_durations
from doctest_runner.model import DocResult, DoctestError, Plan, RunResult
from doctest_runner.report import LoadedReport, write_json_data

MANIFEST_NAME = "shard.json"
MANIFEST_FORMAT = 1
HISTORY_RUNS = 5  # durations: median of the guide's last few runs, so one stuck boot does not skew it


# -- the split --------------------------------------------------------------------------------------
def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` -> (I, N), 1-based; anything else is a usage error (argparse shows it in one line)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m:
        raise argparse.ArgumentTypeError(f"expected I/N (e.g. 2/4), not {text!r}")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1:
        raise argparse.ArgumentTypeError(f"the number of shards must be at least 1, not {n}")
    if not 1 <= i <= n:
        raise argparse.ArgumentTypeError(f"shard index must be between 1 and {n}, not {i}")
    return i, n


def step_weight(plan: Plan) -> int:
    """Cost of a plan without history: one for its VM boot plus one per step that will run."""
    runnable = sum(1 for s in plan.steps if s.status == "run")
    return 1 + runnable + len(plan.setup) + len(plan.cleanup)


@dataclass
class Weights:
    """Estimated cost per guide path, and what the estimate rests on (for the user and shard.json)."""

    by_guide: dict[str, float]
    basis: str  # "history" | "steps"
    timed: int = 0  # guides with a recorded duration


def guide_weights(plans: list[Plan], durations: dict[str, float] | None) -> Weights:
    """Per guide path: its recorded duration, else its step count scaled to seconds by the timed guides.

    Guides new since the last run get seconds-per-step of the guides that have a duration, so a
    history that covers most guides still balances on seconds rather than falling back wholesale.
    """
    steps: dict[str, int] = {}
    for plan in plans:
        steps[plan.path] = steps.get(plan.path, 0) + step_weight(plan)
    known = {p: float(durations[p]) for p in steps if durations and durations.get(p, 0) > 0}
    if not known:
        return Weights({p: float(w) for p, w in steps.items()}, "steps")
    known_steps = sum(steps[p] for p in sorted(known))
    rate = sum(known[p] for p in sorted(known)) / known_steps
    by_guide = {p: known.get(p, rate * w) for p, w in steps.items()}
    return Weights(by_guide, "history", timed=len(known))


def assign_paths(weights: dict[str, float], n: int) -> list[list[str]]:
    """Greedy longest-processing-time first: heaviest guide to the lightest shard; ties by path, then index."""
    if n < 1:
        raise DoctestError(f"the number of shards must be at least 1, not {n}")
    loads = [0.0] * n
    shards: list[list[str]] = [[] for _ in range(n)]
    for path in sorted(weights, key=lambda p: (-weights[p], p)):
        k = min(range(n), key=lambda i: (loads[i], i))
        shards[k].append(path)
        loads[k] += weights[path]
    return shards


def assign_shards(plans: list[Plan], n: int, durations: dict[str, float] | None) -> list[list[Plan]]:
    """Every plan in exactly one of `n` shards (all plans of one guide together), input order kept inside."""
    shards = assign_paths(guide_weights(plans, durations).by_guide, n)
    index = {path: k for k, paths in enumerate(shards) for path in paths}
    out: list[list[Plan]] = [[] for _ in range(n)]
    for plan in plans:
        out[index[plan.path]].append(plan)
    return out


def select_shard(plans: list[Plan], i: int, n: int, durations: dict[str, float] | None) -> list[Plan]:
    """The plans of shard `i` of `n` (1-based)."""
    if n < 1 or not 1 <= i <= n:
        raise DoctestError(f"bad shard {i}/{n}: I must be between 1 and N, N at least 1")
    return assign_shards(plans, n, durations)[i - 1]


# -- durations from the history ---------------------------------------------------------------------
def history_durations(path: Path | str | None, runs: int = HISTORY_RUNS) -> dict[str, float]:
    """Per guide path, the median duration of its last `runs` recorded runs (images of one run summed).

    The history is read by `history.guide_durations` (read-only; a missing file is an empty history).
    """
    return {g: statistics.median(v[-runs:]) for g, v in guide_durations(path).items()}


# -- the run command's side -------------------------------------------------------------------------
def apply_shard(
    plans: list[Plan],
    shard: tuple[int, int] | None,
    *,
    history: Path | None,
    out_dir: Path,
    log=None,
) -> list[Plan]:
    """`run --shard I/N`: the plans of this shard, with shard.json written into the report folder.

    Without a shard, a shard.json left in `out_dir` by an earlier sharded run is removed, so
    `merge` never pairs this report with a stale assignment.
    """
    manifest = Path(out_dir) / MANIFEST_NAME
    if shard is None:
        manifest.unlink(missing_ok=True)
        return plans
    i, n = shard
    weights = guide_weights(plans, history_durations(history))
    paths = assign_paths(weights.by_guide, n)[i - 1]
    chosen = [p for p in plans if p.path in set(paths)]
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    data = {
        "format": MANIFEST_FORMAT,
        "shard": [i, n],
        "basis": weights.basis,
        "guides": sorted(weights.by_guide),
        "assigned": sorted(paths),
        "weights": {p: round(weights.by_guide[p], 3) for p in sorted(weights.by_guide)},
    }
    write_json_data(manifest, data)
    if log is not None:
        how = (f"history durations ({weights.timed} of {len(weights.by_guide)} guides timed)"
               if weights.basis == "history" else "step counts")
        share = sum(weights.by_guide[p] for p in paths)
        total = sum(weights.by_guide.values()) or 1.0
        log(f"shard {i}/{n}: {len(paths)} of {len(weights.by_guide)} guide(s), "
            f"{100 * share / total:.0f}% of the estimated work, balanced by {how}")
        if not paths:
            log(f"shard {i}/{n} has no guides: nothing to run (an empty report is written for merge)")
    return chosen


# -- merge ------------------------------------------------------------------------------------------
@dataclass
class ShardManifest:
    path: Path
    index: int
    count: int
    guides: list[str]
    assigned: list[str]


def read_manifest(folder: Path) -> ShardManifest | None:
    """The shard.json a sharded run left in `folder`, or None for an unsharded report."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        i, n = data["shard"]
        guides, assigned = data["guides"], data["assigned"]
        if not (isinstance(i, int) and isinstance(n, int) and 1 <= i <= n
                and all(isinstance(g, str) for g in guides + assigned)):
            raise ValueError("shard or guide lists have the wrong type")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DoctestError(f"not a valid shard manifest ({exc})", str(path)) from None
    return ShardManifest(path, i, n, list(guides), list(assigned))


@dataclass
class MergeResult:
    run: RunResult
    complete: bool  # False: an input report was incomplete or a shard is missing (only with allow_incomplete)
    notes: list[str] = field(default_factory=list)


def merged_run_id(run_ids: list[str]) -> str:
    """A new id, the same whatever order the shards are given in (merging twice gives the same id)."""
    digest = hashlib.sha256("\n".join(sorted(run_ids)).encode("utf-8")).hexdigest()
    return f"merged-{digest[:12]}"


def _started(report: LoadedReport) -> datetime:
    try:
        t = datetime.fromisoformat(report.run.started_at)
    except ValueError:
        raise DoctestError(f"started_at is not an ISO 8601 time: {report.run.started_at!r}",
                           str(report.path)) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)  # a naive time: the runner writes UTC


def _check_manifests(reports: list[LoadedReport], manifests: list[ShardManifest | None],
                     allow_incomplete: bool, notes: list[str]) -> bool:
    """Every shard 1..N present once, all cut from the same guide list, each report within its share."""
    if not any(manifests):
        notes.append("no shard.json in the inputs: cannot tell whether a shard is missing")
        return True
    if not all(manifests):
        missing = next(r.path for r, m in zip(reports, manifests) if m is None)
        notes.append(f"{missing} has no shard.json (not a sharded run): completeness not checked")
        return True
    complete = True
    first = manifests[0]
    seen: dict[int, ShardManifest] = {}
    for report, m in zip(reports, manifests):
        assert m is not None and first is not None
        if m.count != first.count or m.guides != first.guides:
            raise DoctestError(f"{m.path} and {first.path} come from different splits "
                               f"({m.index}/{m.count} of {len(m.guides)} guides vs "
                               f"{first.index}/{first.count} of {len(first.guides)}): run every shard "
                               "with the same docs, arguments and history")
        if m.index in seen:
            raise DoctestError(f"shard {m.index}/{m.count} is given twice: {seen[m.index].path} and {m.path}")
        seen[m.index] = m
        stray = sorted({d.path for d in report.run.docs} - set(m.assigned))
        if stray:
            raise DoctestError(f"{report.path} has guide {stray[0]}, which {m.path} does not assign to it "
                               "(a stale shard.json?)")
    assert first is not None
    problems = []
    absent = [k for k in range(1, first.count + 1) if k not in seen]
    if absent:
        problems.append("missing shard(s) " + ", ".join(f"{k}/{first.count}" for k in absent))
    assigned = {g for m in manifests if m is not None for g in m.assigned}
    if not absent:
        lost = [g for g in first.guides if g not in assigned]
        if lost:
            problems.append(f"guide {lost[0]} was assigned to no shard ({len(lost)} in all): the shards saw "
                            "different histories or docs")
    if problems:
        if not allow_incomplete:
            raise DoctestError("; ".join(problems) + " (--allow-incomplete merges what is there)")
        notes.append("incomplete: " + "; ".join(problems))
        complete = False
    return complete


def merge_runs(
    reports: list[LoadedReport],
    manifests: list[ShardManifest | None] | None = None,
    *,
    allow_incomplete: bool = False,
) -> MergeResult:
    """One run from shard reports: guides of all shards, earliest start, the first shard's host.

    Raises DoctestError (naming the files) when the reports cannot be one run: different schema
    versions, a guide in two shards, the same report twice, an unfinished shard run (unless
    `allow_incomplete`).
    """
    if not reports:
        raise DoctestError("nothing to merge: give at least one shard folder")
    notes: list[str] = []
    complete = True
    by_file: dict[Path, LoadedReport] = {}
    for r in reports:
        key = r.path.resolve()
        if key in by_file:
            raise DoctestError(f"{r.path} is given twice")
        by_file[key] = r
    base = reports[0]
    for r in reports[1:]:
        if r.schema_version != base.schema_version:
            raise DoctestError(f"{base.path} has schema_version {base.schema_version} but {r.path} has "
                               f"{r.schema_version}: merge reports written by the same doctest-runner")
    owner: dict[str, LoadedReport] = {}
    for r in reports:
        for path in dict.fromkeys(d.path for d in r.run.docs):
            if path in owner:
                raise DoctestError(f"guide {path} is in two shards: {owner[path].path} and {r.path}")
            owner[path] = r
    for r in reports:
        if not r.complete:
            if not allow_incomplete:
                raise DoctestError("the run that wrote this report did not finish (\"complete\": false); "
                                   "--allow-incomplete merges it anyway", str(r.path))
            notes.append(f"{r.path} is incomplete: its unfinished guides are missing")
            complete = False
    if manifests is not None:
        complete = _check_manifests(reports, manifests, allow_incomplete, notes) and complete

    host = replace(base.run.host)
    others = [r for r in reports[1:] if r.run.host != base.run.host]
    if others:
        hosts = ", ".join(f"{r.path}: {r.run.host.accel} ({r.run.host.why})" for r in others)
        note = f"shards ran on different hosts; this is {base.path}'s, others: {hosts}"
        notes.append(note)
        host.why = f"{host.why} [note: {note}]"
    started = min(reports, key=_started).run.started_at
    docs: list[DocResult] = sorted((d for r in reports for d in r.run.docs), key=lambda d: d.path)
    run = RunResult(run_id=merged_run_id([r.run.run_id for r in reports]), started_at=started, host=host,
                    docs=docs)
    return MergeResult(run, complete, notes)
