"""Per-step overhead of the guest session: a `true` step, timed end to end from the harness.

Boots one VM from the default image (or pass --image), then prints boot-to-ready, the cost of a bare
SSH exec of `true` (the floor any per-step channel pays: sshd + the login shell), and a `true` step
through GuestSession (state restore + save, checks, traps) as mean/median/min/p90 over --steps runs,
plus a root step. Figures only; nothing is asserted.

    python bench/bench_exec.py [--steps 50] [--image debian-12]
    python bench/bench_exec.py --machine vm.json   # an already running VM: {"ssh_host", "ssh_port", "user", "key_path"}
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _stats(label: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
    print(f"{label:34s} n={len(ms):3d}  mean {statistics.fmean(ms):7.1f} ms  median {statistics.median(ms):7.1f} ms  "
          f"min {ms[0]:7.1f} ms  p90 {p90:7.1f} ms")


def _time(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--image", default="debian-12")
    ap.add_argument("--machine", type=Path, help="JSON description of a running VM to use instead of booting one")
    args = ap.parse_args()
    if args.machine:
        import json
        from types import SimpleNamespace

        m = SimpleNamespace(**{"host": SimpleNamespace(accel="?"), **json.loads(args.machine.read_text())})
        _bench(m, args, booted=None)
        return 0

    from doctest_runner.image import build_image
    from doctest_runner.vm import boot, decide_host

    image = build_image(args.image)
    with tempfile.TemporaryDirectory(prefix="bench-exec-") as tmp:
        t0 = time.perf_counter()
        with boot(image, host=decide_host(), workdir=Path(tmp)) as machine:
            _bench(machine, args, booted=time.perf_counter() - t0)
    return 0


def _bench(machine: Any, args: argparse.Namespace, booted: float | None) -> None:
    from doctest_runner.exec import GuestSession

    t1 = time.perf_counter()
    with GuestSession(machine) as s:
        ready = time.perf_counter() - t1
        print(f"accel: {machine.host.accel}")
        if booted is not None:
            print(f"boot to SSH ready: {booted:.1f} s (domain start to login: {machine.boot_seconds or 0:.1f} s)")
        print(f"session open: {ready * 1000:.0f} ms")
        s.run("cd /tmp; export BENCH=1; f() { :; }")  # some state to restore and save
        for _ in range(3):  # warm up caches in the guest
            s.run("true")
        _stats("bare SSH exec `true` (floor)", _time(lambda: s._simple("true"), args.steps))
        samples = []
        for _ in range(args.steps):
            r = s.run("true")
            assert r.exit_code == 0, r
            samples.append(r.duration_s)
        _stats("step `true` (ExecResult.duration_s)", samples)
        _stats("step `true` (wall, incl. Python)", _time(lambda: s.run("true"), args.steps))
        _stats("root step `true`", _time(lambda: s.run("true", user="root"), max(5, args.steps // 5)))


if __name__ == "__main__":
    raise SystemExit(main())
