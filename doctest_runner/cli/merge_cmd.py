"""`doctest-runner merge SHARD_DIR... --out DIR`: the reports of `run --shard I/N` jobs as one run.

Shards run with `--suggest-fixes` carry their fixes in report.json; the merged folder then gets fixes.md and
fixes/<doc>.patch written again as one run would have written them (the docs are read from where the reports
say they are, so run it where the shards read the docs). A shard without the option merges as before.

Exit status as `run` would have given for the whole set: 0 every step passed or was skipped,
1 a step or check failed (with `--fail-on doc`, only doc bugs count), 2 a usage or input error
(one line naming the file) or a guide the harness could not run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from doctest_runner.fix import FIXES_MD
from doctest_runner.model import DoctestError
from doctest_runner.report import load_codeowners, read_report, summary_text, write_all
from doctest_runner.run.fixes import run_fixes, write_run_fixes
from doctest_runner.run.shard import merge_runs, read_manifest


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "merge", help="combine the reports of sharded runs (run --shard I/N) into one",
        description="Read the report.json of each `run --shard I/N` output folder and write one report set "
        "(report.json, junit.xml, report.html, checklist.md; fixes.md and fixes/<doc>.patch when the shards ran "
        "with --suggest-fixes) as if one run had run every guide.",
        epilog="exit status: 0 every step passed or was skipped; 1 a step or check failed (with --fail-on doc, "
        "only doc bugs count); 2 usage or input error (a shard missing or unfinished)\n\n"
        "example:\n  doctest-runner merge out-1 out-2 out-3 --out doctest-out",
    )
    p.add_argument("shards", nargs="+", type=Path, metavar="SHARD_DIR",
                   help="a shard run's --out folder (or its report.json)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the merged reports")
    p.add_argument("--fail-on", choices=("doc", "any"), default="any",
                   help="exit 1 on doc bugs only, or on any failure (default)")
    p.add_argument("--codeowners", type=Path, metavar="FILE", help="group the checklist by owner")
    p.add_argument("--source", type=Path, metavar="DIR", help="doc sources, for the excerpts in report.html")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="merge even when a shard is missing or did not finish (the report says incomplete)")
    return p


def run(args: argparse.Namespace) -> int:
    # lazy: every sub-command's parser is built at CLI start; the runner (guides, VMs) loads only for a merge
    from doctest_runner.run.runner import exit_status

    reports = [read_report(p) for p in args.shards]
    out = args.out.resolve()
    for r in reports:
        if r.path.parent.resolve() == out:
            raise DoctestError(f"--out {args.out} is a shard's own folder: its report would be overwritten")
    manifests = [read_manifest(r.path.parent) for r in reports]
    merged = merge_runs(reports, manifests, allow_incomplete=args.allow_incomplete)
    for note in merged.notes:
        print(f"doctest-runner: note: {note}", file=sys.stderr)
    # --suggest-fixes shards: a fix on a step, or a fixes.md saying none was found (an unsharded run writes it too)
    fixes = bool(run_fixes(merged.run)) or any((r.path.parent / FIXES_MD).is_file() for r in reports)
    if fixes:
        if args.codeowners is not None:
            load_codeowners(args.codeowners)  # a bad one is refused before anything is written, as write_all does
        args.out.mkdir(parents=True, exist_ok=True)
        for note in write_run_fixes(merged.run, args.out):
            print(f"doctest-runner: note: {note}", file=sys.stderr)
    # an incomplete merge says so in report.json, as a run that died would
    write_all(merged.run, args.out, codeowners=args.codeowners, source_root=args.source, complete=merged.complete)
    print(summary_text(merged.run))
    written = "report.html, report.json, junit.xml, checklist.md" + (", fixes.md" if fixes else "")
    print(f"merged {len(reports)} report(s) into {args.out}: {written}")
    return exit_status(merged.run, args.fail_on)
