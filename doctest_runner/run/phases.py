"""The long waits of a run, named and timed: image build, saving a booted machine, the guides.

On a fresh machine the first run spends minutes before any guide starts (an image build, a cold boot to save
the booted machine). A silent wait that long looks like a hang, so each phase says what it is doing and how
long it took the last time on this machine (kept in the cache, `phases.json`), says again every half minute
while it lasts, and the run ends with one line of time per phase. The estimate is only what was measured
here before; the first time there is none, and the line says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from doctest_runner.paths import cache_root

Log = Callable[[str], None]
HEARTBEAT_S = 30.0
MAX_ENTRIES = 200  # phases.json holds one duration per (phase, subject); old subjects fall off


def history_file() -> Path:
    return cache_root() / "phases.json"


def load_estimates(path: Path | None = None) -> dict[str, float]:
    """Last measured seconds per "phase subject" key; an unreadable file counts as empty (it is a hint)."""
    try:
        data = json.loads((path or history_file()).read_text())
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))} if isinstance(data, dict) else {}


def save_estimate(key: str, seconds: float, path: Path | None = None) -> None:
    p = path or history_file()
    data = load_estimates(p)
    data.pop(key, None)
    data[key] = round(seconds, 1)
    data = dict(list(data.items())[-MAX_ENTRIES:])
    with contextlib.suppress(OSError):
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(tmp, p)


def start_text(what: str, estimate: float | None) -> str:
    """`building image debian-12 (about 2 min the last time here)`; pure."""
    if estimate is None:
        return f"{what} (first time on this machine: minutes under TCG)"
    return f"{what} (about {_dur(estimate)} the last time here)"


def still_text(what: str, elapsed: float, estimate: float | None) -> str:
    """`... still building image debian-12: 1 min 30 s of about 2 min`; pure."""
    if estimate is None:
        return f"... still {what}: {_dur(elapsed)} so far"
    if elapsed <= estimate:
        return f"... still {what}: {_dur(elapsed)} of about {_dur(estimate)}"
    return f"... still {what}: {_dur(elapsed)}, longer than the {_dur(estimate)} of last time"


def _dur(s: float) -> str:
    s = max(0, round(s))
    if s < 60:
        return f"{s} s"
    m, sec = divmod(s, 60)
    return f"{m} min {sec} s" if sec else f"{m} min"


class Phase:
    """One timed wait. It stays quiet until it is announced: a cache hit takes milliseconds and says nothing;
    real work (an image build, a cold boot to save) announces itself, with the estimate and a heartbeat."""

    def __init__(self, what: str, estimate: float | None, log: Log, heartbeat_s: float):
        self.what, self.estimate, self.log, self.heartbeat_s = what, estimate, log, heartbeat_s
        self.t0 = time.monotonic()
        self.announced = False
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def announce(self) -> None:
        if self.announced:
            return
        self.announced = True
        self.log(start_text(self.what, self.estimate))

        def beat() -> None:
            while not self._stop.wait(self.heartbeat_s):
                self.log(still_text(self.what, time.monotonic() - self.t0, self.estimate))

        self._ticker = threading.Thread(target=beat, name="phase-heartbeat", daemon=True)
        self._ticker.start()

    def watch(self, prefixes: tuple[str, ...], log: Log) -> Log:
        """A log function for the phase's work: messages go on to `log`, and the first one starting with one
        of `prefixes` (what the work says when it really starts, e.g. "building image") announces the phase."""
        def forward(msg: str) -> None:
            if msg.startswith(prefixes):
                self.announce()
            log(msg)
        return forward

    def stop(self) -> float:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        return time.monotonic() - self.t0


@dataclass
class Phases:
    """Durations of the run's phases, in the order they started (a phase that runs more than once is summed)."""

    log: Log
    path: Path | None = None
    heartbeat_s: float = HEARTBEAT_S
    spent: dict[str, float] = field(default_factory=dict)
    waited: bool = False  # a phase was announced: real work (not a cache hit) before the guides

    @contextlib.contextmanager
    def phase(self, name: str, what: str, *, key: str | None = None, announce: bool = False) -> Iterator[Phase]:
        """Time phase `name` (summed into `spent`). With a `key` (e.g. "image debian-12") the announcement
        gives the last measured time, and a phase that was announced and succeeded keeps its new time."""
        ph = Phase(what, load_estimates(self.path).get(key) if key else None, self.log, self.heartbeat_s)
        if announce:
            ph.announce()
        ok = False
        try:
            yield ph
            ok = True
        finally:
            dt = ph.stop()
            self.spent[name] = self.spent.get(name, 0.0) + dt
            self.waited = self.waited or ph.announced
            if ok and key and ph.announced:
                save_estimate(key, dt, self.path)

    def summary(self) -> str:
        """`phases: image 1 min 50 s, saved machine 1 min 20 s, guides 2 min 10 s`; pure."""
        return "phases: " + ", ".join(f"{name} {_dur(s)}" for name, s in self.spent.items())
