"""Wall time of the example doc set three ways (cold boots, restored machines, restored + shared prefixes), and
of --resume after fixing a broken last step against a full re-run. Prints figures; asserts nothing.

    python bench/bench_suite.py [--jobs N] [--docs docs_under_test/examples]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from doctest_runner.vm.store import checkpoint_names, forget_since  # noqa: E402


# A guide whose steps do real work (an apt install, a virtualenv) and whose last step has a typo, fixed between
# runs; and one of trivial steps, where a fresh machine costs about what a checkpoint does (the floor).
_SETUP = """# Set up a Python tool in a virtual environment

## Install the tools

```console
$ export BENCH_RUN={nonce}
$ sudo apt-get update
$ sudo DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv jq
```

## Create the environment

```console
$ python3 -m venv ~/venv
$ ~/venv/bin/python -m pip --version
```

## Use it

```console
$ ~/venv/bin/python -c "import json; print(json.{call}({{'ok': True}}))"
```
"""
_TRIVIAL = ("# R\n\n```console\n$ export BENCH_RUN={nonce}\n"
            + "".join(f"$ echo step{i} > /tmp/s{i}\n" for i in range(6)) + "$ cat /tmp/{name}\n```\n")
_NONCE = f"{os.getpid()}-{int(time.time())}"  # new step text each invocation: its checkpoints are made anew
RESUME_CASES = [
    ("real work (apt install, venv)", _SETUP.format(call="dumpz", nonce=_NONCE),
     _SETUP.format(call="dumps", nonce=_NONCE)),
    ("trivial steps (echo)", _TRIVIAL.format(name="nosuchfile", nonce=_NONCE),
     _TRIVIAL.format(name="s5", nonce=_NONCE)),
]


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
    before = checkpoint_names()
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        t = Path(tmp)
        run(a.docs, "--out", str(t / "warm"), "--jobs", a.jobs, "--no-shared-prefix")  # saves the state once
        cold = run(a.docs, "--out", str(t / "cold"), "--jobs", a.jobs, "--cold-boot")
        restored = run(a.docs, "--out", str(t / "restored"), "--jobs", a.jobs, "--no-shared-prefix")
        shared = run(a.docs, "--out", str(t / "shared"), "--jobs", a.jobs)
        print(f"cold boots:               {cold:7.1f} s  1.00x")
        print(f"restored machines:        {restored:7.1f} s  {cold / restored:.2f}x faster")
        print(f"restored + shared prefix: {shared:7.1f} s  {cold / shared:.2f}x faster")
        for label, broken, fixed in RESUME_CASES:
            guide = t / f"resume-{label.split()[0]}.md"
            guide.write_text(broken)
            first = run(str(guide), "--out", str(t / "r1"))  # checkpoints after each passing step (default)
            plain = run(str(guide), "--out", str(t / "r0"), "--checkpoint", "off")
            guide.write_text(fixed)
            full = run(str(guide), "--out", str(t / "r2"))
            resumed = run(str(guide), "--out", str(t / "r3"), "--resume")
            print(f"resume, {label}: failing run {first:.1f} s with a checkpoint per step, {plain:.1f} s without; "
                  f"after fixing the last step: full re-run {full:.1f} s, --resume {resumed:.1f} s "
                  f"({full / resumed:.2f}x faster)")
    print(f"removed the {forget_since(before)} checkpoint(s) this benchmark saved")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
