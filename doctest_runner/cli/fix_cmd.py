"""`doctest-runner fix DOC [--apply]`: run one guide as `run --suggest-fixes` does, print each candidate fix with
its verdict and time, and with `--apply` write the verified change into the doc.

Why it refuses a doc that changed since the run: the verdict is about the text that ran; a change made meanwhile
(by a person, another tool) could make the patch apply to different text, or undo what the verification proved.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from doctest_runner.cli import run_cmd
from doctest_runner.fix import Fix, read_source, write_back
from doctest_runner.model import DoctestError, RunResult


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "fix", help="run one guide, propose fixes for its failure, prove them in VMs, and apply the verified one",
        description="Run one guide in a fresh VM as `run --suggest-fixes` does: for its first failure with a "
        "doc-bug category, propose edits of the doc from the failed machine, try each in a run of its own (from "
        "the checkpoint before the failed step when there is one), and print each candidate with its verdict "
        "(verified, partial, rejected) and time. --apply writes the verified change into the doc. The reports, "
        "fixes.md and fixes/<doc>.patch go to --out as with `run`.",
        epilog="exit status: 0 the guide passed, or a fix was verified (and written, with --apply); 1 the guide "
        "fails and no candidate was verified; 2 usage or input error, a guide's VM failed, or --apply refused (the "
        "doc changed since the run)\n\n"
        "example:\n  doctest-runner fix docs_under_test/examples/ip-forward.md --apply",
    )
    p.add_argument("doc", metavar="DOC", help="the guide (one Markdown file)")
    p.add_argument("--apply", action="store_true", help="write the verified fix into DOC")
    p.add_argument("--source", metavar="DIR", help="local checkout that replaces a doc set's source")
    p.add_argument("--image", metavar="NAME", help="run the guide on this image instead of its own")
    p.add_argument("--out", type=Path, default=Path("doctest-out"), metavar="DIR", help="report directory")
    p.add_argument("--jobs", "-j", type=int, default=0,
                   help="VMs at once: the guide, then its candidates (default: from cores and memory)")
    p.add_argument("--output", choices=("off", "warn", "check"), default="warn",
                   help="expected output of prompted commands")
    p.add_argument("--accel", choices=("kvm", "tcg"), help="override the automatic choice of acceleration")
    p.add_argument("--timeout", type=float, default=900.0, help="default per-step timeout in seconds")
    p.add_argument("--cold-boot", action="store_true",
                   help="boot every VM cold instead of restoring a saved booted machine")
    p.add_argument("--no-package-cache", action="store_true",
                   help="guests download Debian packages straight from the origin")
    return p


def run_args(args: argparse.Namespace) -> argparse.Namespace:
    """The `run` command's arguments for this guide: its defaults, this command's options, --suggest-fixes."""
    parser = argparse.ArgumentParser(prog="doctest-runner")
    ns = run_cmd.add_parser(parser.add_subparsers()).parse_args([args.doc])
    for name in ("source", "out", "jobs", "output", "accel", "timeout", "cold_boot", "no_package_cache"):
        setattr(ns, name, getattr(args, name))
    ns.images = [args.image] if args.image else []
    ns.suggest_fixes = True
    ns.no_progress = True
    return ns


def fixes_of(result: RunResult) -> list[Fix]:
    return [f for d in result.docs for r in d.steps for f in r.fixes if isinstance(f, Fix)]


def describe(fix: Fix) -> str:
    """One line per candidate: where, what, verdict and time, and why."""
    cand, verdict = fix.candidate, fix.verdict
    where = f"{cand.edits[0].path}:{cand.edits[0].line}" if cand.edits else cand.step_id
    patch = f" [{fix.patch}]" if fix.patch else ""
    return (f"{where}: {cand.category}: {cand.description}: {verdict.status} ({verdict.duration_s:.1f} s): "
            f"{verdict.reason}{patch}")


def _same(path: str, doc: Path) -> bool:
    try:
        return os.path.samefile(path, doc)
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    doc = Path(args.doc)
    if not doc.is_file():
        raise DoctestError("not a file: `fix` takes one guide (a Markdown file)", args.doc)
    before = read_source(args.doc)  # what the run runs: --apply refuses when the doc is no longer this
    status, result = run_cmd.execute(run_args(args))
    if result is None:
        return status
    fixes = fixes_of(result)
    if not fixes:
        print("fix: no candidate fix" + (": the guide passed" if status == 0 else
                                         " for this failure (no proposer for its category, or none fitted)"))
        return status
    print(f"fix: {len(fixes)} candidate(s):")
    for fix in fixes:
        print(f"  {describe(fix)}")
    chosen = [f for f in fixes if f.patch is not None]
    if not chosen:
        print("fix: no candidate was verified; nothing to apply")
        return 1 if status == 1 else status
    if args.apply:
        ours = [f for f in chosen if all(_same(e.path, doc) for e in f.candidate.edits)]
        if not ours:  # a verified fix of another file (a doc the sidecar names): the patch is in --out
            raise DoctestError(f"the verified fix is for {chosen[0].candidate.edits[0].path}, not this doc; "
                               f"apply {args.out}/{chosen[0].patch} there", args.doc)
        write_back(args.doc, before, [f.candidate for f in ours])
        print(f"fix: applied to {args.doc}: {'; '.join(f.candidate.description for f in ours)}")
    else:
        print(f"fix: verified patch: {args.out}/{chosen[0].patch} (write it into the doc with --apply)")
    return 0
