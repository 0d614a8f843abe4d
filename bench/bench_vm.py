#!/usr/bin/env python3
"""Figures for the machine side: image build (cold and cached), boot-to-SSH-ready, memory per VM.

    python bench/bench_vm.py [--image debian-12] [--boots 2] [--cold]

--cold rebuilds the image from nothing in a temporary cache (debootstrap included; downloaded .debs are
reused from the real cache so the network is not measured). Without it, "cold" is the configure stage
alone (a recipe change that keeps the package list), timed by a forced rebuild in a temporary cache
that shares the real cache's rootfs tarballs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from doctest_runner.image import build_image, images_dir
from doctest_runner.vm import boot, decide_host, ensure_state, fresh_machine
from doctest_runner.vm.state import qemu_pids


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default="debian-12")
    ap.add_argument("--boots", type=int, default=2)
    ap.add_argument("--cold", action="store_true", help="include debootstrap in the cold build")
    ap.add_argument("--restores", type=int, default=5, help="fresh VMs restored from the saved state, one by one")
    args = ap.parse_args()
    quiet = lambda m: None

    real = images_dir()
    build_image(args.image, log=quiet)  # make sure the real cache has it (and its rootfs tarball)
    with tempfile.TemporaryDirectory(prefix="bench-images-", dir=real.parent) as tmp:
        tmpd = Path(tmp)
        (tmpd / ".debs").symlink_to(real / ".debs")
        if not args.cold:
            (tmpd / ".rootfs").symlink_to(real / ".rootfs")
        t0 = time.monotonic()
        build_image(args.image, cache_dir=tmpd, log=quiet)
        cold = time.monotonic() - t0
        t0 = time.monotonic()
        build_image(args.image, cache_dir=tmpd, log=quiet)
        cached = time.monotonic() - t0
        what = "debootstrap + configure" if args.cold else "configure stage, rootfs tarball cached"
        print(f"image build cold ({what}): {cold:.1f} s")
        print(f"image build cached (hit): {cached * 1000:.0f} ms")
        for p in (tmpd / ".debs", tmpd / ".rootfs"):
            if p.is_symlink():
                p.unlink()
        shutil.rmtree(tmpd, ignore_errors=True)

    img = build_image(args.image, log=quiet)
    host = decide_host()
    ready, totals, rss, rtts = [], [], [], []
    for _ in range(args.boots):
        t0 = time.monotonic()
        with boot(img, host=host) as m:
            ready.append(m.boot_seconds or 0.0)
            client = m.connect()
            try:
                for _ in range(20):
                    t1 = time.monotonic()
                    _, out, _ = client.exec_command("true")
                    out.channel.recv_exit_status()
                    rtts.append(time.monotonic() - t1)
            finally:
                client.close()
            rss.append(sum(rss_mb(p) for p in qemu_pids(m.name)))
        totals.append(time.monotonic() - t0)
    if ready:
        print(f"boot to SSH ready ({m.host.accel}): median {statistics.median(ready):.1f} s "
              f"(runs: {', '.join(f'{x:.1f}' for x in ready)})")
        print(f"boot + teardown total: median {statistics.median(totals):.1f} s")
        print(f"ssh exec round trip of `true` on an open connection: median {statistics.median(rtts) * 1000:.0f} ms")
        print(f"memory per VM (qemu RSS after boot, 2048 MiB guest): {statistics.median(rss):.0f} MiB")
    os.environ["DOCTEST_RUNNER_TIMING"] = "1"  # restore() logs where its time goes
    ensure_state(img, host=host, log=quiet)
    restored = []
    for i in range(args.restores):
        with fresh_machine(img, host=host, run_id=f"bench-restore-{os.getpid()}-{i}",
                           log=lambda m: print("   ", m)) as m:
            restored.append(m.boot_seconds or 0.0)
    if restored:
        print(f"restored VM SSH-ready with a new identity: median {statistics.median(restored):.2f} s "
              f"(runs: {', '.join(f'{x:.2f}' for x in restored)})")
    print(f"load average at end: {os.getloadavg()[0]:.1f} (other VMs on this host slow TCG boots down)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
