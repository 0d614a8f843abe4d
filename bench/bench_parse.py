#!/usr/bin/env python3
"""Parse the whole Kata docs snapshot N times; print time per full pass and per doc.

    python bench/bench_parse.py [--passes 5] [--docs ../shared/kata-docs] [--all-cores] [--big]

By default the process (and so the bash co-process it starts) is pinned to one CPU, as the
budget is "well under 1 s on one core". "cold" passes clear the syntax-verdict cache first (what
a fresh `doctest-runner list` pays, minus interpreter start-up); "warm" passes reuse it.
--big also times a synthetic 5 MB guide, command-dense (one multi-line command every ~120 bytes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from doctest_runner.parse import parse_file, parse_text
from doctest_runner.shell import default_checker
from doctest_runner.plan import plan_paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--docs", type=Path, default=REPO.parent / "shared" / "kata-docs")
    ap.add_argument("--all-cores", action="store_true", help="do not pin to one CPU")
    ap.add_argument("--big", action="store_true", help="also time a synthetic 5 MB command-dense doc")
    args = ap.parse_args()

    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        print(f"pinned to CPU {cpu} (bash co-process inherits it)")
    docs = sorted(args.docs.rglob("*.md"))
    if not docs:
        print(f"no docs under {args.docs}", file=sys.stderr)
        return 2
    print(f"{len(docs)} docs, {sum(p.stat().st_size for p in docs) / 1024:.0f} KiB, load {os.getloadavg()[0]:.2f}")

    t0 = time.perf_counter()
    first = [parse_file(p) for p in docs]
    first_pass = time.perf_counter() - t0
    steps = sum(len(d.steps) for d in first)
    print(f"first pass (co-process start, imports warm): {first_pass * 1000:.1f} ms, {steps} steps")

    cold: list[float] = []
    warm: list[float] = []
    per_doc: dict[Path, list[float]] = {p: [] for p in docs}
    for _ in range(args.passes):
        default_checker._cache.clear()
        t0 = time.perf_counter()
        for p in docs:
            t1 = time.perf_counter()
            parse_file(p)
            per_doc[p].append(time.perf_counter() - t1)
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for p in docs:
            parse_file(p)
        warm.append(time.perf_counter() - t0)
    print(f"full pass, cold cache: median {statistics.median(cold) * 1000:.1f} ms "
          f"(min {min(cold) * 1000:.1f}, max {max(cold) * 1000:.1f}) over {args.passes} passes")
    print(f"full pass, warm cache: median {statistics.median(warm) * 1000:.1f} ms")
    print(f"per doc (cold): mean {statistics.mean(cold) / len(docs) * 1000:.2f} ms")
    slowest = sorted(per_doc.items(), key=lambda kv: -statistics.median(kv[1]))[:5]
    for path, times in slowest:
        print(f"  {statistics.median(times) * 1000:7.2f} ms  {path.relative_to(args.docs)}")
    print(f"bash checks: {default_checker.stats}")

    # parse and plan, as `list`/`lint`/`run` do it: discovery, parsing, sidecars, distro tabs
    planned = []
    for _ in range(args.passes):
        default_checker._cache.clear()
        t0 = time.perf_counter()
        planset = plan_paths([str(args.docs)])
        planned.append(time.perf_counter() - t0)
    print(f"parse and plan (plan_paths), cold cache: median {statistics.median(planned) * 1000:.1f} ms, "
          f"{len(planset.plans)} plans, {sum(len(p.steps) for p in planset.plans)} steps")

    if args.big:
        section = ("## Part {i}\n\n- Then run:\n\n  ```console\n  $ echo part-{i} \\\n      --flag\n  part-{i}\n"
                   "  $ cat <<EOF > f{i}\n  x: {i}\n  EOF\n  ```\n\n")
        parts, size, i = [], 0, 0
        while size < 5 * 1024 * 1024:
            s = section.format(i=i)
            parts.append(s)
            size += len(s)
            i += 1
        text = "".join(parts)
        default_checker._cache.clear()
        t0 = time.perf_counter()
        doc = parse_text(text, "big.md")
        print(f"5 MiB command-dense doc: {time.perf_counter() - t0:.2f} s, {len(doc.steps)} steps")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
