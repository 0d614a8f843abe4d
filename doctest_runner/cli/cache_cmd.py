"""`doctest-runner cache info|prune [--max-size SIZE]`: saved booted machines and checkpoints (LRU)."""

from __future__ import annotations

import argparse
import time

from doctest_runner.model import DoctestError
from doctest_runner.vm import pkgcache, store


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "cache", help="saved machines and checkpoints: show them, or evict the least recently used",
        description="Show the saved booted machines and step checkpoints in the cache (info), or evict the "
        "least recently used ones that no running VM needs until the cache fits --max-size (prune).",
        epilog="exit status: 0 done; 2 usage error (a bad --max-size)\n\n"
        "example:\n  doctest-runner cache prune --max-size 10G",
    )
    p.add_argument("action", choices=("info", "prune"))
    p.add_argument("--max-size", default=None, metavar="SIZE",
                   help="prune down to this size (e.g. 20G, 500M; default 10G); 0 removes everything unused")
    return p


def run(args: argparse.Namespace) -> int:
    human = store.human
    try:
        limit = store.parse_size(args.max_size) if args.max_size is not None else store.DEFAULT_MAX_SIZE
    except ValueError as exc:
        raise DoctestError(f"--max-size: {exc}") from None
    if args.action == "prune":
        n, freed = store.prune(limit, log=print)
        print(f"removed {n} saved machine(s), freed {human(freed)}")
        pkg_freed = pkgcache.prune(0 if limit == 0 else pkgcache.MAX_SIZE)
        print(f"package cache: freed {human(pkg_freed)}")
    usage = store.usage()
    for e in sorted(usage.entries, key=lambda e: e.last_used, reverse=True):
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.last_used))
        print(f"{e.kind:10} {e.path.name:40} {human(e.size):>10}  last used {used}  layers {len(e.chain)}")
    print(f"{len(usage.entries)} saved machine(s), {len(usage.layers)} disk layer(s), {human(usage.total)} in all "
          f"(limit {human(limit)})")
    print(f"package cache: {human(pkgcache.disk_size())} of downloaded packages in {pkgcache.root()} "
          f"(limit {human(pkgcache.MAX_SIZE)}; {'running' if pkgcache.status().running else 'not running'})")
    return 0
