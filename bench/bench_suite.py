"""The fresh-machine figures of issue #15 in one invocation; prints figures, asserts nothing:

- a restored VM's ready time (its new identity given, sshd serving it) and its first command's time (the user's
  SSH login, as a guide's first step has it), median of --restores, idle and with one core busy;
- the example doc set's wall time: cold boots, restored machines, restored + the guests' package cache (its
  first run fills the cache, the second uses it warm: the ratio is to the same run without the cache; what the
  cache served and fetched; whether any step's verdict differs without it), restored + shared prefixes; the
  disk the run's checkpoints took, and the whole cache after it;
- --resume after fixing a broken last step against a full re-run, on a guide that does real work first
  (apt install, a virtualenv) and on a trivial one (the floor).

    python bench/bench_suite.py [--jobs N] [--docs docs_under_test/examples] [--restores 5] [--skip-resume]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from doctest_runner.image import build_image  # noqa: E402
from doctest_runner.vm import decide_host, ensure_state, fresh_machine, pkgcache, store  # noqa: E402
from doctest_runner.vm.machine import guest_run  # noqa: E402


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


def verdicts(report: Path) -> dict[tuple[str, int, int], tuple[object, ...]]:
    """Each step's verdict in a report.json (status, category, failed line, exit code), keyed by doc and step."""
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return {}
    return {(d["path"], i, s["line"]): (s["status"], s.get("category"), s.get("failed_line"), s.get("exit_code"))
            for d in data.get("docs", []) for i, s in enumerate(d.get("steps", []))}


def docset_checkpoints(docs: str, since: float) -> tuple[int, int]:
    """Checkpoints the cache keeps for guides under `docs` that a run starting at `since` (time.time()) saved or
    used, and the bytes only they take (their memory images and the layers no saved state stands on): what one
    run of those guides leaves for --resume and shared prefixes. Older checkpoints of the same guides (other
    steps, other images) are not counted."""
    ents = [e for e in store.entries() if e.kind == "state" or e.last_used >= since]
    state_layers = {layer for e in ents if e.kind == "state" for layer in e.chain}
    mine = []
    for e in ents:
        try:
            guide = json.loads((e.path / "meta.json").read_text()).get("key", {}).get("guide", "")
        except (OSError, ValueError):
            continue
        if e.kind == "checkpoint" and str(guide).startswith(docs.rstrip("/") + "/"):
            mine.append(e)
    sizes = store.layer_sizes()
    own_layers = {layer for e in mine for layer in e.chain} - state_layers
    return len(mine), sum(e.size for e in mine) + sum(sizes.get(layer, 0) for layer in own_layers)


@contextlib.contextmanager
def one_core_busy(limit_s: float = 900) -> Iterator[None]:
    """A shared CI runner: one process spinning on one core (bounded: it ends itself after `limit_s`), ended by
    its own pid when the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", f"import time\nt = time.time() + {limit_s}\n"
                             "while time.time() < t: pass"])
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def restore_ready(image: str, n: int) -> tuple[list[float], list[float], set[str]]:
    """n restores one by one: seconds from "restore" to ready (the clone has its new identity and sshd serves
    it), and to the output of a first command in the user's SSH login (what a guide's first step waits for);
    and how the identity was given (guest agent or SSH)."""
    img = build_image(image, log=lambda _m: None)
    host = decide_host()
    ensure_state(img, host=host)
    ready, first, via = [], [], set()
    for i in range(n):
        t0 = time.monotonic()
        with fresh_machine(img, host=host, run_id=f"bench-ready-{os.getpid()}-{i}") as m:
            ready.append(m.boot_seconds or 0.0)
            guest_run(m, "true", user=None)
            first.append(time.monotonic() - t0)
            via.add(m.identity_via or "cold boot")
    return ready, first, via


def _ready_line(label: str, times: tuple[list[float], list[float], set[str]]) -> str:
    ready, first, via = times
    return (f"restored VM ready, {label}: median {statistics.median(ready):.2f} s (runs: "
            f"{', '.join(f'{x:.2f}' for x in ready)}; identity through {', '.join(sorted(via))}); first command "
            f"done in the user's login: median {statistics.median(first):.2f} s")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", default="2")
    ap.add_argument("--docs", default="docs_under_test/examples")
    ap.add_argument("--image", default="debian-12", help="for the ready time")
    ap.add_argument("--restores", type=int, default=5)
    ap.add_argument("--skip-resume", action="store_true")
    a = ap.parse_args()
    before = store.checkpoint_names()
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores here; other work slows TCG)")
    ready = restore_ready(a.image, a.restores)
    print(_ready_line("idle", ready))
    with one_core_busy():
        busy = restore_ready(a.image, a.restores)
    print(_ready_line("one core busy", busy) + f"; busy / idle (ready): "
          f"{statistics.median(busy[0]) / statistics.median(ready[0]):.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        t = Path(tmp)
        jobs = ["--jobs", a.jobs]
        t_warm = time.time()
        run(a.docs, "--out", str(t / "warm"), *jobs, "--no-shared-prefix")  # saves the state once
        n_ckpt, ckpt = docset_checkpoints(a.docs, since=t_warm)
        cold = run(a.docs, "--out", str(t / "cold"), *jobs, "--cold-boot", "--no-package-cache")
        restored = run(a.docs, "--out", str(t / "restored"), *jobs, "--no-shared-prefix", "--no-package-cache")
        t1 = time.time()
        first = run(a.docs, "--out", str(t / "pc1"), *jobs, "--no-shared-prefix")
        t2 = time.time()
        warm = run(a.docs, "--out", str(t / "pc2"), *jobs, "--no-shared-prefix")
        traffic = [pkgcache.traffic(t1, t2), pkgcache.traffic(t2, time.time())]
        shared = run(a.docs, "--out", str(t / "shared"), *jobs)
        print(f"cold boots:                    {cold:7.1f} s  1.00x")
        print(f"restored machines:             {restored:7.1f} s  {cold / restored:.2f}x faster")
        print(f"restored + package cache, 1st: {first:7.1f} s  {restored / first:.2f}x against restored alone")
        print(f"restored + package cache, 2nd: {warm:7.1f} s  {restored / warm:.2f}x against restored alone "
              f"(second run / first: {warm / first:.2f})")
        without, cached = verdicts(t / "restored" / "report.json"), verdicts(t / "pc2" / "report.json")
        differ = sorted(k for k in set(without) | set(cached) if without.get(k) != cached.get(k))
        print(f"verdicts with and without the package cache: {len(without)} steps, {len(differ)} differ"
              + "".join(f"\n  {k}: {without.get(k)} -> {cached.get(k)}" for k in differ))
        for label, (fetched, served) in zip(("1st", "2nd"), traffic):
            print(f"package cache, {label} run: served {store.human(served)} to guests, fetched "
                  f"{store.human(fetched)} from the origins")
        print(f"restored + shared prefix:      {shared:7.1f} s  {cold / shared:.2f}x faster than cold")
        print(f"checkpoints one run of {a.docs} keeps: {n_ckpt}, {store.human(ckpt)} of their own "
              "(memory images, compressed, and the layers no saved state uses)")
        print(store.usage().text())
        for label, broken, fixed in [] if a.skip_resume else RESUME_CASES:
            guide = t / f"resume-{label.split()[0]}.md"
            guide.write_text(broken)
            first_r = run(str(guide), "--out", str(t / "r1"))  # checkpoints after each passing step (default)
            plain = run(str(guide), "--out", str(t / "r0"), "--checkpoint", "off")
            guide.write_text(fixed)
            full = run(str(guide), "--out", str(t / "r2"))
            resumed = run(str(guide), "--out", str(t / "r3"), "--resume")
            print(f"resume, {label}: failing run {first_r:.1f} s with a checkpoint per step, {plain:.1f} s "
                  f"without; after fixing the last step: full re-run {full:.1f} s, --resume {resumed:.1f} s "
                  f"({full / resumed:.2f}x faster)")
    print(f"removed the {store.forget_since(before)} checkpoint(s) this benchmark saved")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
