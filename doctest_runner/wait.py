"""The one deadline and retry helper: every "try until it works or time runs out" loop goes through here.

Why: hand-written `deadline = time.monotonic() + t; while ...: sleep` loops each got the edges slightly
differently (a last sleep past the deadline, a negative timeout handed to a socket, a retry that swallowed the
final error). A `Deadline` says how much time is left (never negative); `poll` waits for a condition and
`retry` repeats a call that raises, both re-raising or naming what they waited for when time runs out. The
clock and the sleep are parameters, so the tests run without waiting. Modelled on the idea of tmt's
`tmt/utils/wait.py` (a check called on ticks until a deadline), written for this harness.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class WaitTimeout(Exception):
    """`poll` ran out of time; the message says what it waited for and for how long."""


@dataclass
class Deadline:
    """A point in monotonic time `seconds` from now; `left` is never negative."""

    seconds: float
    clock: Clock = field(default=time.monotonic, repr=False)
    sleeper: Sleep = field(default=time.sleep, repr=False)
    at: float = field(init=False)

    def __post_init__(self) -> None:
        self.at = self.clock() + self.seconds

    @classmethod
    def until(cls, at: float, *, clock: Clock = time.monotonic, sleeper: Sleep = time.sleep) -> Deadline:
        """A deadline at an absolute monotonic time (for callers handed `time.monotonic() + t`)."""
        d = cls(0.0, clock=clock, sleeper=sleeper)
        d.at = at
        d.seconds = max(0.0, at - clock())
        return d

    @property
    def left(self) -> float:
        return max(0.0, self.at - self.clock())

    @property
    def expired(self) -> bool:
        return self.clock() >= self.at

    def cap(self, value: float, *, floor: float = 0.0) -> float:
        """`value`, but no more than the time left and no less than `floor` (a socket timeout of 0 would block)."""
        return max(floor, min(value, self.left))

    def sleep(self, interval: float) -> None:
        """Sleep `interval`, but never past the deadline."""
        s = min(interval, self.left)
        if s > 0:
            self.sleeper(s)


def poll(check: Callable[[], T | None], *, timeout: float, interval: float, what: str,
         clock: Clock = time.monotonic, sleeper: Sleep = time.sleep) -> T:
    """Call `check` every `interval` s until it returns something other than None (returned) or `timeout` s
    have passed (WaitTimeout naming `what`). `check` is always called at least once, and once more at the end."""
    d = Deadline(timeout, clock=clock, sleeper=sleeper)
    while True:
        result = check()
        if result is not None:
            return result
        if d.expired:
            raise WaitTimeout(f"{what}: not within {timeout:g} s")
        d.sleep(interval)


def retry(call: Callable[[], T], *, timeout: float, interval: float,
          retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
          clock: Clock = time.monotonic, sleeper: Sleep = time.sleep) -> T:
    """`call()`, repeated every `interval` s while it raises one of `retry_on` and `timeout` s have not passed;
    after that the last error propagates unchanged (callers keep their own messages). Other errors are never
    retried. timeout=0: one attempt."""
    d = Deadline(timeout, clock=clock, sleeper=sleeper)
    while True:
        try:
            return call()
        except retry_on:
            if d.expired:
                raise
        d.sleep(interval)
