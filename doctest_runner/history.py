"""Run history in SQLite: when did each guide last pass, since when is a step broken, what changed.

Every recorded run appends its guides and steps. A step is the same step across runs when its
doc path and step id (path:line) match *and* its command is unchanged; when lines move (an edit
above it) it is found again by its command hash; a command edited in place keeps its line. That
identity is settled once, when a run is recorded, and stored as `step_key`, so the summary only
has to read rows.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from doctest_runner.model import DoctestError, RunResult

SCHEMA_VERSION = 1
BROKEN = ("failed", "error")
NEUTRAL = ("skipped", "not-run")  # says nothing about whether a step works

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    started_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    accel TEXT
);
CREATE TABLE IF NOT EXISTS docs (
    run_seq INTEGER NOT NULL,
    path TEXT NOT NULL,
    image TEXT NOT NULL,
    status TEXT NOT NULL,
    duration_s REAL,
    error TEXT,
    step_count INTEGER NOT NULL,
    PRIMARY KEY (run_seq, path, image)
);
CREATE TABLE IF NOT EXISTS steps (
    run_seq INTEGER NOT NULL,
    path TEXT NOT NULL,
    image TEXT NOT NULL,
    position INTEGER NOT NULL,
    step_key TEXT NOT NULL,
    step_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    failed_line INTEGER,
    command_hash TEXT NOT NULL,
    command TEXT NOT NULL,
    status TEXT NOT NULL,
    category TEXT,
    evidence TEXT
);
CREATE INDEX IF NOT EXISTS steps_by_doc ON steps (path, image, run_seq);
CREATE INDEX IF NOT EXISTS docs_by_doc ON docs (path, image, run_seq);
"""


def command_hash(command: str) -> str:
    """Hash of a command, blind to indentation and trailing blanks (re-indenting a block is no change)."""
    norm = "\n".join(re.sub(r"\s+", " ", ln).strip() for ln in command.strip().splitlines())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class RunRef:
    seq: int
    run_id: str
    started_at: str


@dataclass
class StepHistory:
    path: str
    image: str
    step_id: str
    line: int
    command: str
    status: str
    category: str | None
    evidence: str | None
    broken_since: RunRef | None = None  # first failing run of the current streak
    broken_runs: int = 0  # failing runs in the current streak

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class GuideHistory:
    path: str
    image: str
    runs: int
    last_status: str
    last_run: RunRef
    last_passed: RunRef | None
    broken_since: RunRef | None
    broken_runs: int  # consecutive most recent runs in which the guide failed
    broken_steps: list[StepHistory] = field(default_factory=list)


@dataclass
class HistorySummary:
    runs: int
    latest: RunRef | None
    previous: RunRef | None
    streak: int
    guides: list[GuideHistory] = field(default_factory=list)
    newly_broken: list[StepHistory] = field(default_factory=list)
    newly_fixed: list[StepHistory] = field(default_factory=list)

    @property
    def streaking(self) -> list[GuideHistory]:
        """Guides broken for `streak` runs in a row or more: candidates for a deprecation warning."""
        return [g for g in self.guides if g.broken_runs >= self.streak]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["streaking"] = [{"path": g.path, "image": g.image, "broken_runs": g.broken_runs} for g in self.streaking]
        return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _match_steps(prev: list[sqlite3.Row], current: list[tuple[str, str]]) -> list[str | None]:
    """For each current (step_id, hash), the step_key of the same step in the previous run, if any.

    Order of trust: same id and same command; then same command elsewhere (lines moved), paired
    in order when a command appears several times; then same id with a changed command (edited
    in place).
    """
    keys: list[str | None] = [None] * len(current)
    free = list(prev)

    def take(pred) -> None:
        for i, (sid, h) in enumerate(current):
            if keys[i] is not None:
                continue
            for j, row in enumerate(free):
                if pred(row, sid, h):
                    keys[i] = row["step_key"]
                    free.pop(j)
                    break

    take(lambda row, sid, h: row["step_id"] == sid and row["command_hash"] == h)
    take(lambda row, sid, h: row["command_hash"] == h)
    take(lambda row, sid, h: row["step_id"] == sid)
    return keys


class History:
    """A history database at `path` (created on first record)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    # -- writing ---------------------------------------------------------------------------------
    def _connect(self, *, create: bool) -> sqlite3.Connection:
        if not create and not self.path.exists():
            raise DoctestError("no history yet: run `doctest-runner run --history` first", str(self.path))
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self.path)
            db.row_factory = sqlite3.Row
            if create:
                db.executescript(_SCHEMA)
            version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise DoctestError(f"not a doctest-runner history database ({exc})", str(self.path)) from None
        if version is None:
            if not create:
                raise DoctestError("not a doctest-runner history database (no schema version)", str(self.path))
            db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            db.commit()
        elif int(version["value"]) > SCHEMA_VERSION:
            raise DoctestError(f"history schema {version['value']} is newer than this doctest-runner "
                               f"understands ({SCHEMA_VERSION})", str(self.path))
        return db

    def record(self, run: RunResult) -> None:
        """Append one run (recording the same run id again replaces it)."""
        db = self._connect(create=True)
        try:
            with db:
                old = db.execute("SELECT seq FROM runs WHERE run_id = ?", (run.run_id,)).fetchone()
                if old is not None:
                    for table in ("steps", "docs"):
                        db.execute(f"DELETE FROM {table} WHERE run_seq = ?", (old["seq"],))
                    db.execute("DELETE FROM runs WHERE seq = ?", (old["seq"],))
                cur = db.execute(
                    "INSERT INTO runs (run_id, started_at, recorded_at, accel) VALUES (?, ?, ?, ?)",
                    (run.run_id, run.started_at, _now(), run.host.accel),
                )
                seq = cur.lastrowid
                if seq is None:  # sqlite3 sets it after every INSERT
                    raise sqlite3.DatabaseError("the history database gave no row id for the new run")
                for doc in run.docs:
                    self._record_doc(db, seq, doc)
        finally:
            db.close()

    def _record_doc(self, db: sqlite3.Connection, seq: int, doc) -> None:
        db.execute(
            "INSERT OR REPLACE INTO docs (run_seq, path, image, status, duration_s, error, step_count) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, doc.path, doc.image, doc.status, doc.duration_s, doc.error, len(doc.steps)),
        )
        if not doc.steps:
            return
        prev_seq = db.execute(
            "SELECT MAX(run_seq) AS s FROM docs WHERE path = ? AND image = ? AND run_seq < ? AND step_count > 0",
            (doc.path, doc.image, seq),
        ).fetchone()["s"]
        prev = []
        if prev_seq is not None:
            prev = db.execute(
                "SELECT step_key, step_id, command_hash FROM steps WHERE path = ? AND image = ? AND run_seq = ? "
                "ORDER BY position", (doc.path, doc.image, prev_seq),
            ).fetchall()
        used = {r["step_key"] for r in db.execute(
            "SELECT DISTINCT step_key FROM steps WHERE path = ? AND image = ?", (doc.path, doc.image))}
        current = [(sr.step.id, command_hash(sr.step.command)) for sr in doc.steps]
        keys = _match_steps(prev, current)
        for pos, (sr, key) in enumerate(zip(doc.steps, keys)):
            sid, h = current[pos]
            if key is None:
                key = base = f"{sid}@{h[:8]}"
                n = 2
                while key in used:
                    key, n = f"{base}#{n}", n + 1
            used.add(key)
            db.execute(
                "INSERT INTO steps (run_seq, path, image, position, step_key, step_id, line, failed_line, "
                "command_hash, command, status, category, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, doc.path, doc.image, pos, key, sid, sr.step.line, sr.failed_line, h, sr.step.command,
                 sr.status, sr.category, sr.evidence),
            )

    # -- reading ---------------------------------------------------------------------------------
    def summary(self, streak: int = 3) -> HistorySummary:
        """What the recorded runs say now (see HistorySummary)."""
        if streak < 1:
            raise DoctestError(f"--streak must be at least 1, not {streak}")
        db = self._connect(create=False)
        try:
            return self._summary(db, streak)
        except sqlite3.DatabaseError as exc:
            raise DoctestError(f"cannot read history: {exc}", str(self.path)) from None
        finally:
            db.close()

    def _summary(self, db: sqlite3.Connection, streak: int) -> HistorySummary:
        runs = {r["seq"]: RunRef(r["seq"], r["run_id"], r["started_at"])
                for r in db.execute("SELECT seq, run_id, started_at FROM runs ORDER BY seq")}
        order = sorted(runs)
        out = HistorySummary(
            runs=len(order),
            latest=runs[order[-1]] if order else None,
            previous=runs[order[-2]] if len(order) > 1 else None,
            streak=streak,
        )
        guides = db.execute("SELECT DISTINCT path, image FROM docs ORDER BY path, image").fetchall()
        for g in guides:
            path, image = g["path"], g["image"]
            doc_rows = db.execute(
                "SELECT run_seq, status, step_count FROM docs WHERE path = ? AND image = ? ORDER BY run_seq",
                (path, image),
            ).fetchall()
            step_rows = db.execute(
                "SELECT run_seq, step_key, step_id, line, command, status, category, evidence FROM steps "
                "WHERE path = ? AND image = ? ORDER BY run_seq, position", (path, image),
            ).fetchall()
            by_run: dict[int, dict[str, sqlite3.Row]] = {}
            for row in step_rows:
                by_run.setdefault(row["run_seq"], {})[row["step_key"]] = row
            out.guides.append(self._guide(path, image, doc_rows, by_run, runs, out))
        return out

    def _guide(self, path, image, doc_rows, by_run, runs, out: HistorySummary) -> GuideHistory:
        last = doc_rows[-1]
        passed = [r for r in doc_rows if r["status"] == "passed"]
        broken_runs, since = 0, None
        for r in reversed(doc_rows):
            if r["status"] in BROKEN:
                broken_runs, since = broken_runs + 1, runs[r["run_seq"]]
            elif r["status"] == "skipped":
                continue
            else:
                break
        guide = GuideHistory(
            path=path, image=image, runs=len(doc_rows), last_status=last["status"],
            last_run=runs[last["run_seq"]], last_passed=runs[passed[-1]["run_seq"]] if passed else None,
            broken_since=since, broken_runs=broken_runs,
        )
        with_steps = [r["run_seq"] for r in doc_rows if r["step_count"] > 0]
        if not with_steps:
            return guide
        latest_seq = with_steps[-1]
        latest_steps = by_run.get(latest_seq, {})
        is_latest_run = out.latest is not None and latest_seq == out.latest.seq

        def streak_of(key: str) -> tuple[int, RunRef | None, str | None]:
            """(failing runs in the current streak, its first run, last known status before it)."""
            count, first = 0, None
            for s in reversed(with_steps):
                row = by_run.get(s, {}).get(key)
                status = row["status"] if row is not None else None
                if status in BROKEN:
                    count, first = count + 1, runs[s]
                elif status in NEUTRAL:
                    continue
                else:
                    return count, first, status
            return count, first, None

        for key, row in latest_steps.items():
            hist = StepHistory(path, image, row["step_id"], row["line"], row["command"], row["status"],
                               row["category"], row["evidence"])
            if row["status"] in BROKEN:
                hist.broken_runs, hist.broken_since, _ = streak_of(key)
                guide.broken_steps.append(hist)
                if is_latest_run and hist.broken_since is not None and hist.broken_since.seq == latest_seq:
                    out.newly_broken.append(hist)
            elif row["status"] == "passed" and is_latest_run:
                before = [s for s in with_steps if s < latest_seq]
                prev_status = None
                for s in reversed(before):
                    prow = by_run.get(s, {}).get(key)
                    if prow is not None and prow["status"] in NEUTRAL:
                        continue
                    prev_status = prow["status"] if prow is not None else None
                    break
                if prev_status in BROKEN:
                    out.newly_fixed.append(hist)
        if is_latest_run and len(with_steps) > 1:
            # broken last time, gone now: fixed by removing or rewriting the step
            prev_seq = with_steps[-2]
            for key, prow in by_run.get(prev_seq, {}).items():
                if key not in latest_steps and prow["status"] in BROKEN:
                    out.newly_fixed.append(StepHistory(path, image, prow["step_id"], prow["line"], prow["command"],
                                                       "removed", prow["category"], prow["evidence"]))
        return guide


# -- rendering -------------------------------------------------------------------------------------
def _ref(ref: RunRef | None) -> str:
    return f"{ref.run_id} ({ref.started_at})" if ref else "never"


def _first_line(command: str) -> str:
    line = next((ln.strip() for ln in command.splitlines() if ln.strip()), "")
    return line if len(line) <= 70 else line[:69] + "…"


def summary_text(summary: HistorySummary) -> str:
    """The history as a person reads it in a terminal."""
    if summary.runs == 0:
        return "No runs recorded yet."
    multi_image = len({g.image for g in summary.guides}) > 1

    def name(path: str, image: str) -> str:
        return f"{path} [{image}]" if multi_image else path

    lines = [
        f"{summary.runs} run(s) recorded; latest {_ref(summary.latest)}"
        + (f", previous {_ref(summary.previous)}" if summary.previous else ""),
        "",
        "Guides:",
    ]
    for g in summary.guides:
        state = f"{g.last_status:7} last passed: {_ref(g.last_passed) if g.last_passed else 'never'}"
        if g.broken_runs:
            state += f"; broken since {_ref(g.broken_since)}, {g.broken_runs} run(s) in a row"
        lines.append(f"  {name(g.path, g.image)}: {state}")
    broken = [s for g in summary.guides for s in g.broken_steps]
    if broken:
        lines += ["", "Broken steps:"]
        for s in broken:
            lines.append(
                f"  {name(s.location, s.image)} [{s.category or 'unknown'}] broken since {_ref(s.broken_since)} "
                f"({s.broken_runs} run(s)): {_first_line(s.command)}"
            )
    for title, items in (("Newly broken since the previous run:", summary.newly_broken),
                         ("Newly fixed since the previous run:", summary.newly_fixed)):
        lines += ["", title]
        if not items:
            lines.append("  none")
        for s in items:
            what = f"[{s.category}] {s.evidence}" if s.status in BROKEN else s.status
            lines.append(f"  {name(s.location, s.image)} {what}: {_first_line(s.command)}")
    lines += ["", f"Broken for {summary.streak}+ runs in a row (candidates for a deprecation warning):"]
    lines += [f"  {name(g.path, g.image)}: {g.broken_runs} runs, since {_ref(g.broken_since)}"
              for g in summary.streaking] or ["  none"]
    return "\n".join(lines)


def guide_durations(path: Path | str | None) -> dict[str, list[float]]:
    """Per guide path, how long each recorded run of it took (its images in one run summed), oldest first.

    For `run --shard`, which balances guides by cost: read-only (opened `mode=ro`), so a shard never changes
    the history it balances on; a missing file is an empty history (the first run creates it). Skipped and
    zero-length guides say nothing about cost and are left out.
    """
    if path is None:
        return {}
    p = Path(path)
    if not p.exists():
        return {}
    try:
        db = sqlite3.connect(p.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DoctestError(f"cannot open history: {exc}", str(p)) from None
    try:
        if db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'docs'").fetchone() is None:
            raise DoctestError("not a doctest-runner history database (no docs table)", str(p))
        rows = db.execute(
            "SELECT path, run_seq, SUM(duration_s) FROM docs "
            "WHERE status != 'skipped' AND duration_s > 0 GROUP BY path, run_seq ORDER BY path, run_seq"
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise DoctestError(f"not a doctest-runner history database ({exc})", str(p)) from None
    finally:
        db.close()
    per_guide: dict[str, list[float]] = {}
    for guide, _seq, seconds in rows:
        per_guide.setdefault(guide, []).append(float(seconds))
    return per_guide


def summary_json(summary: HistorySummary) -> str:
    return json.dumps(summary.to_dict(), indent=2, ensure_ascii=False)
