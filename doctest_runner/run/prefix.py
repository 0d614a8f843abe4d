"""Shared prefixes: guides that begin with the same steps on the same machine run those steps once.

Pure planning (unit-tested without VMs): each guide's step sequence has a key per prefix length
(checkpoint.sequence_keys); a guide waits for the longest prefix it shares with an earlier guide, and
that earlier guide (the leader) takes a checkpoint there. Leaders always come earlier in the run order, so
with a FIFO pool a waiting guide never blocks the guide it waits for.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what leaders post; planning itself needs nothing of the VM layer
    from doctest_runner.vm.store import SavedMachine


@dataclass
class PrefixPlan:
    """For each guide (by index): the prefix it starts from, and the checkpoints it must publish."""

    wait: dict[int, tuple[int, str, int]] = field(default_factory=dict)  # follower -> (k, key, leader)
    publish: dict[int, dict[int, str]] = field(default_factory=dict)  # leader -> {k: key}


def plan_prefixes(keys: Sequence[Sequence[str] | None], min_steps: int = 1) -> PrefixPlan:
    """`keys[i]`: guide i's sequence keys (None: not run). A guide follows the earliest guide that has its
    longest shared prefix (at least `min_steps` steps), and never shares its whole sequence with itself."""
    out = PrefixPlan()
    for i, ki in enumerate(keys):
        if not ki:
            continue
        best: tuple[int, str, int] | None = None
        for j, kj in enumerate(keys):
            if j == i or not kj:
                continue
            # the longest k with equal keys (keys chain, so equality at k implies equality below)
            lo, hi = 0, min(len(ki), len(kj)) - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if ki[mid] == kj[mid]:
                    lo = mid
                else:
                    hi = mid - 1
            k = lo
            if k < min_steps:
                continue
            if best is None or k > best[0] or (k == best[0] and j < best[2]):
                best = (k, ki[k], j)
        if best is None:
            continue
        k, key, _ = best
        leader = next(j for j, kj in enumerate(keys) if kj and len(kj) > k and kj[k] == key)
        if leader == i:
            out.publish.setdefault(i, {})[k] = key
        else:
            out.wait[i] = (k, key, leader)
            out.publish.setdefault(leader, {})[k] = key
    return out


class PrefixBoard:
    """Where leaders post the checkpoint of a shared prefix (or None if they did not get there)."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}
        self._values: dict[str, SavedMachine | None] = {}
        self._lock = threading.Lock()

    def _event(self, key: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(key, threading.Event())

    def post(self, key: str, entry: SavedMachine | None) -> None:
        with self._lock:
            if key in self._values:
                return
            self._values[key] = entry
        self._event(key).set()

    def wait(self, key: str, timeout: float | None = None) -> SavedMachine | None:
        """The checkpoint posted under `key` (None: its leader will not reach it, or `timeout` ran out)."""
        self._event(key).wait(timeout)
        with self._lock:
            return self._values.get(key)
