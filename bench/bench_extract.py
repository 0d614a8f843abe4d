#!/usr/bin/env python3
"""Steps the parser finds in real guides of other projects, split by how each was found.

    python bench/bench_extract.py [--docs ../shared/external-docs] [--kata] [--steps] [--json]

Per guide: the number of steps and how they were found: a fenced shell block without prompts
(`fenced`), a prompted line by prompt kind (`$`, `#` root, `user@host`, `>`, `%`, `❯`/`➜`,
`(venv)`, guest shells), an unlabelled block read as shell (`unlabelled`), a site-generator
shortcode or MyST directive block (`shortcode`, `myst`), a file write (`file`), and the steps not
run: skipped as example output (`output`) and Windows steps (`windows`). `--steps` also prints
every step (`line  how  command`) so new finds can be read by eye: a step that is not a command a
reader types is a precision bug. Only the parser runs (no planning), so the figures say what
extraction finds, not what one image would run. Nothing from a doc is executed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from doctest_runner.model import Block, ParsedDoc, Step  # noqa: E402
from doctest_runner.parse import parse_file  # noqa: E402

COLUMNS = ("fenced", "$", "#", "user@host", ">", "%", "❯➜", "venv", "guest", "unlabelled", "shortcode",
           "myst", "file", "other", "output", "windows")


def prompt_kind(prompt: str) -> str:
    """The family of a stripped prompt: `$`, `#` (root), `user@host`, `>`, `%`, `❯➜`, `venv`."""
    p = prompt.strip()
    if p.startswith("("):
        return "venv"
    if "@" in p or p.startswith("["):
        return "user@host"
    if p[:1] in ("❯", "➜"):
        return "❯➜"
    mark = p[-1:] if p else "$"
    return mark if mark in ("$", "#", ">", "%") else "other"


def how(step: Step, block: Block | None) -> str:
    """How the parser came to this step (one column of the table)."""
    reason = step.reason or ""
    if step.platform == "windows":
        return "windows"
    if step.status == "skip" and "output" in reason:
        return "output"
    if reason == "runs inside a guest shell":
        return "guest"
    if step.kind == "file":
        return "file"
    if block is not None and block.kind == "shortcode":
        return "shortcode"
    if block is not None and block.info.lstrip().startswith("{code"):
        return "myst"
    if (step.why or "").startswith("unlabelled"):
        return "unlabelled"
    if step.kind == "prompted" and step.prompt:
        return prompt_kind(step.prompt)
    if step.kind == "bare":
        return "fenced"
    return "other"


def classify(doc: ParsedDoc) -> list[tuple[Step, str]]:
    blocks = {b.line: b for b in doc.blocks}
    return [(s, how(s, blocks.get(s.block_line))) for s in doc.steps]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=REPO.parent / "shared" / "external-docs")
    ap.add_argument("--kata", action="store_true", help="also the Kata docs (../shared/kata-docs), totals only")
    ap.add_argument("--steps", action="store_true", help="print every step with how it was found")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    guides = sorted(args.docs.glob("*.md"))
    guides = [g for g in guides if g.name != "MANIFEST.md"]
    if not guides:
        print(f"no guides under {args.docs}", file=sys.stderr)
        return 2
    rows: dict[str, Counter[str]] = {}
    listing: dict[str, list[tuple[int, str, str, str]]] = {}
    for path in guides:
        doc = parse_file(path, display_path=path.name)
        counts: Counter[str] = Counter()
        listing[path.name] = []
        for step, kind in classify(doc):
            counts[kind] += 1
            first = step.command.split("\n")[0] + (" …" if "\n" in step.command else "")
            listing[path.name].append((step.line, kind, step.status, first))
        rows[path.name] = counts
    kata: Counter[str] | None = None
    if args.kata:
        kata = Counter()
        root = REPO.parent / "shared" / "kata-docs"
        for path in sorted(root.rglob("*.md")):
            for _, kind in classify(parse_file(path)):
                kata[kind] += 1

    if args.json:
        out = {"guides": {name: {"steps": sum(c.values()), **dict(c)} for name, c in rows.items()}}
        if kata is not None:
            out["kata"] = {"steps": sum(kata.values()), **dict(kata)}
        json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0

    used = [c for c in COLUMNS if any(r[c] for r in rows.values()) or (kata and kata[c])]
    width = max(len(n) for n in rows) + 2
    print(f"{'guide':<{width}}{'steps':>6}  " + " ".join(f"{c:>{max(len(c), 3)}}" for c in used))
    total: Counter[str] = Counter()
    for name, counts in rows.items():
        total.update(counts)
        print(f"{name:<{width}}{sum(counts.values()):>6}  "
              + " ".join(f"{counts[c]:>{max(len(c), 3)}}" for c in used))
    print(f"{'total':<{width}}{sum(total.values()):>6}  " + " ".join(f"{total[c]:>{max(len(c), 3)}}" for c in used))
    if kata is not None:
        print(f"{'kata-docs (all)':<{width}}{sum(kata.values()):>6}  "
              + " ".join(f"{kata[c]:>{max(len(c), 3)}}" for c in used))
    if args.steps:
        for name, steps in listing.items():
            print(f"\n# {name}")
            for line, kind, status, first in steps:
                mark = "" if status == "run" else " (skip)"
                print(f"{line:>5}  {kind:<10}{mark}  {first}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
