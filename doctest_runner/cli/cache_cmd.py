"""`doctest-runner cache info|prune [--max-size SIZE]`: saved booted machines and checkpoints (LRU)."""

from __future__ import annotations

import argparse
import time

from doctest_runner.model import DoctestError
from doctest_runner.run.checkpoint import DEFAULT_MAX_SIZE, entries, human, layer_sizes, parse_size, prune


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("cache", help="saved machines and checkpoints: show them, or evict the least recently used")
    p.add_argument("action", choices=("info", "prune"))
    p.add_argument("--max-size", default=None, metavar="SIZE",
                   help="prune down to this size (e.g. 20G, 500M; default 20G); 0 removes everything unused")
    return p


def run(args: argparse.Namespace) -> int:
    try:
        limit = parse_size(args.max_size) if args.max_size is not None else DEFAULT_MAX_SIZE
    except ValueError as exc:
        raise DoctestError(f"--max-size: {exc}") from None
    if args.action == "prune":
        n, freed = prune(limit, log=print)
        print(f"removed {n} saved machine(s), freed {human(freed)}")
    ents = entries()
    layers = layer_sizes()
    for e in sorted(ents, key=lambda e: e.last_used, reverse=True):
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.last_used))
        print(f"{e.kind:10} {e.path.name:40} {human(e.size):>10}  last used {used}  layers {len(e.chain)}")
    total = sum(e.size for e in ents) + sum(layers.values())
    print(f"{len(ents)} saved machine(s), {len(layers)} disk layer(s), {human(total)} in all "
          f"(limit {human(limit)})")
    return 0
