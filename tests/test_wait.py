"""doctest_runner/wait.py: deadlines, polling and retrying on a fake clock (no real sleeping)."""

from __future__ import annotations

import pytest

from doctest_runner.wait import Deadline, WaitTimeout, poll, retry


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def test_deadline_left_never_negative_and_expired():
    c = FakeClock()
    d = Deadline(5, clock=c, sleeper=c.sleep)
    assert d.left == 5 and not d.expired
    c.now += 7
    assert d.left == 0 and d.expired


def test_deadline_sleep_and_cap_stop_at_the_deadline():
    c = FakeClock()
    d = Deadline(1.0, clock=c, sleeper=c.sleep)
    d.sleep(0.75)
    d.sleep(0.75)
    assert c.slept == [0.75, 0.25]
    d.sleep(0.75)  # nothing left: no sleep at all
    assert c.slept == [0.75, 0.25]
    assert d.cap(10, floor=0.5) == 0.5


def test_deadline_until_absolute_time():
    c = FakeClock()
    d = Deadline.until(103.0, clock=c, sleeper=c.sleep)
    assert d.left == 3.0
    c.now = 104
    assert d.expired


def test_poll_returns_first_non_none():
    c = FakeClock()
    answers = iter([None, None, "ready"])
    assert poll(lambda: next(answers), timeout=10, interval=1, what="x", clock=c, sleeper=c.sleep) == "ready"
    assert c.slept == [1, 1]


def test_poll_times_out_naming_what_it_waited_for():
    c = FakeClock()
    calls = []
    with pytest.raises(WaitTimeout, match=r"SSH on port 2222: not within 3 s"):
        poll(lambda: calls.append(1), timeout=3, interval=1, what="SSH on port 2222", clock=c, sleeper=c.sleep)
    assert len(calls) == 4  # at 0, 1, 2 and a last look at 3
    assert sum(c.slept) == 3


def test_retry_reraises_the_last_error_unchanged_and_not_others():
    c = FakeClock()
    n = {"i": 0}

    def flaky() -> str:
        n["i"] += 1
        raise ConnectionResetError(f"reset {n['i']}")

    with pytest.raises(ConnectionResetError, match="reset 3"):
        retry(flaky, timeout=1.0, interval=0.5, retry_on=OSError, clock=c, sleeper=c.sleep)

    def refused() -> str:
        raise PermissionError("key refused")

    calls_before = n["i"]
    with pytest.raises(PermissionError):
        retry(refused, timeout=10, interval=1, retry_on=ConnectionError, clock=c, sleeper=c.sleep)
    assert n["i"] == calls_before


def test_retry_succeeds_after_failures_and_zero_timeout_is_one_attempt():
    c = FakeClock()
    seq = iter([OSError("a"), OSError("b"), "ok"])

    def call() -> str:
        v = next(seq)
        if isinstance(v, Exception):
            raise v
        return v

    assert retry(call, timeout=5, interval=0.5, retry_on=OSError, clock=c, sleeper=c.sleep) == "ok"
    attempts = []

    def once() -> None:
        attempts.append(1)
        raise OSError("down")

    with pytest.raises(OSError):
        retry(once, timeout=0, interval=1, retry_on=OSError, clock=c, sleeper=c.sleep)
    assert attempts == [1]
