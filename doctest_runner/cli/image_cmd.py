"""`doctest-runner image build|list|prune`: the VM image cache from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import time

from doctest_runner.image import build_image, list_images, prune_images


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("image", help="build, list and prune VM base images",
                              description="Build, list and prune the cached VM base images (recipes in vm_images/).",
                              epilog="exit status: 0 done; 2 usage error, unknown recipe or a failed build\n\n"
                              "example:\n  doctest-runner image build debian-12")
    sub = p.add_subparsers(dest="image_command", metavar="ACTION")
    sub.required = True
    b = sub.add_parser("build", help="build an image (a cache hit if its recipe is unchanged)",
                       description="Build a recipe's base image into the cache; a cache hit if its recipe is "
                       "unchanged.")
    b.add_argument("recipe", nargs="?", default="debian-12", help="recipe name or path (default: debian-12)")
    b.add_argument("--force", action="store_true", help="rebuild even if the cache has it")
    b.add_argument("--from", dest="source", metavar="FILE", help="cloud-image recipes: the qcow2/raw file to import")
    ls = sub.add_parser("list", help="list built images", description="List the built images in the cache.")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    pr = sub.add_parser("prune", help="remove images that no current recipe builds",
                        description="Remove cached images that no current recipe builds (with --all: every one).")
    pr.add_argument("--all", action="store_true", help="remove every built image and rootfs tarball")
    return p


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def run(args: argparse.Namespace) -> int:
    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.image_command == "build":
        t0 = time.monotonic()
        img = build_image(args.recipe, force=args.force, log=log, source=args.source)
        print(f"{img.name}-{img.recipe_hash}\t{img.base}\t({time.monotonic() - t0:.1f} s)")
        return 0
    if args.image_command == "list":
        infos = list_images()
        if args.json:
            print(json.dumps([{"name": i.name, "hash": i.recipe_hash, "kind": i.kind, "size": i.size,
                               "age_s": round(i.age_s), "current": i.current, "path": str(i.path)} for i in infos],
                             indent=2))
            return 0
        if not infos:
            print("no images built yet (doctest-runner image build)")
            return 0
        print(f"{'NAME':<24} {'HASH':<12} {'SIZE':>8} {'AGE':>5} {'STATE':<8} PATH")
        for i in infos:
            print(f"{i.name:<24} {i.recipe_hash:<12} {i.size / 2**20:>6.0f}Mi {_age(i.age_s):>5} "
                  f"{'current' if i.current else 'stale':<8} {i.path}")
        return 0
    from doctest_runner.vm import bases_in_use, store  # lazy: vm imports paramiko; only prune reads the VMs' records

    removed = prune_images(in_use=bases_in_use(), all=args.all, log=log)
    print(f"removed {len(removed)} item(s)")
    # saved machines and checkpoints on a removed image can never be restored: they go too (the limit is unchanged)
    n, freed = store.prune(1 << 62, log=log)
    if n:
        print(f"removed {n} saved machine(s) and checkpoint(s) of removed images ({store.human(freed)})")
    return 0
