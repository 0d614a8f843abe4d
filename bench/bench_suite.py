"""Wall time of the example doc set three ways (cold boots, restored machines, restored + shared prefixes), and
of --resume after fixing a broken last step against a full re-run. Prints figures; asserts nothing.

    python bench/bench_suite.py [--jobs N] [--docs docs_under_test/examples]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> float:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "doctest_runner", "run", "--no-progress", *args], cwd=REPO,
                          capture_output=True, text=True)
    dt = time.monotonic() - t0
    if proc.returncode not in (0, 1):
        print(proc.stderr[-2000:], file=sys.stderr)
    return dt


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", default="2")
    ap.add_argument("--docs", default="docs_under_test/examples")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        t = Path(tmp)
        run(a.docs, "--out", str(t / "warm"), "--jobs", a.jobs, "--no-shared-prefix")  # saves the state once
        cold = run(a.docs, "--out", str(t / "cold"), "--jobs", a.jobs, "--cold-boot")
        restored = run(a.docs, "--out", str(t / "restored"), "--jobs", a.jobs, "--no-shared-prefix")
        shared = run(a.docs, "--out", str(t / "shared"), "--jobs", a.jobs)
        print(f"cold boots:               {cold:7.1f} s  1.00x")
        print(f"restored machines:        {restored:7.1f} s  {cold / restored:.2f}x faster")
        print(f"restored + shared prefix: {shared:7.1f} s  {cold / shared:.2f}x faster")
        guide = t / "resume.md"
        body = "# R\n\n```console\n" + "".join(f"$ echo step{i} > /tmp/s{i}\n" for i in range(6))
        guide.write_text(body + "$ cat /tmp/nosuchfile\n```\n")
        run(str(guide), "--out", str(t / "r1"), "--checkpoint", "step")
        guide.write_text(body + "$ cat /tmp/s5\n```\n")
        full = run(str(guide), "--out", str(t / "r2"))
        resumed = run(str(guide), "--out", str(t / "r3"), "--resume")
        print(f"full re-run after the fix: {full:6.1f} s")
        print(f"--resume after the fix:    {resumed:6.1f} s  {full / resumed:.2f}x faster")
    subprocess.run([sys.executable, "-m", "doctest_runner", "cache", "info"], cwd=REPO)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
