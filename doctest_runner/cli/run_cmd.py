"""`doctest-runner run DOC|DIR...`: every guide in its own fresh VM; reports in --out."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from doctest_runner import trust
from doctest_runner.fix import Fix
from doctest_runner.model import DoctestError, HostInfo, RunResult
from doctest_runner.plan import NothingChanged, changed_planset, nothing_message, plan_matrix
from doctest_runner.report import emit, summary_text
from doctest_runner.run.guide import GuideOptions
from doctest_runner.run.runner import RunOptions, check_host_ready, exit_status, run_plans
from doctest_runner.run.select import Selection, apply_selection
from doctest_runner.run.shard import apply_shard, parse_shard


def add_selection_args(p: argparse.ArgumentParser) -> None:
    """Doc arguments and step selection, shared with `walk`."""
    p.add_argument("paths", nargs="+", metavar="DOC|DIR", help="guides, folders of guides, or doc sets")
    p.add_argument("--source", metavar="DIR", help="local checkout that replaces a doc set's source")
    p.add_argument("--image", dest="images", action="append", default=[], metavar="NAME",
                   help="run every guide on this image instead of its own; give it more than once to run every "
                   "guide on each image (a matrix: every report has a result per guide and image)")
    p.add_argument("-k", dest="keyword", metavar="EXPR",
                   help="select steps like pytest -k (path, heading, name, command)")
    p.add_argument("--heading", help="select the steps under headings containing this text")
    p.add_argument("--name", help="select the step with this name")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "run", help="run guides in fresh VMs and report which step breaks and why",
        description="Run each guide's steps in order in its own fresh VM (guides in parallel), check the "
        "finished machine, and write report.json, junit.xml, report.html and checklist.md to --out.",
        epilog="exit status: 0 every selected step passed or was skipped; 1 a step or check failed (with "
        "--fail-on doc, only doc bugs count); 2 usage or input error, or a guide's VM failed; 130 interrupted\n\n"
        "example:\n  doctest-runner run docs_under_test/examples --jobs 2 --history history.db",
    )
    add_selection_args(p)
    p.add_argument("--out", type=Path, default=Path("doctest-out"), metavar="DIR", help="report directory")
    p.add_argument("--changed", metavar="REF",
                   help="run only the guides whose Markdown, sidecar, fixtures, check modules, doc-set manifest or "
                   "image recipe differ between the git commit REF and the work tree (untracked files included); "
                   "exit 0 with a message when none does")
    p.add_argument("--jobs", "-j", type=int, default=0, help="guides at once (default: from cores and memory)")
    p.add_argument("--keep-going", action="store_true", help="run the remaining steps after a failure")
    p.add_argument("--output", choices=("off", "warn", "check"), default="warn",
                   help="expected output of prompted commands")
    p.add_argument("--accel", choices=("kvm", "tcg"), help="override the automatic choice of acceleration")
    p.add_argument("--timeout", type=float, default=900.0, help="default per-step timeout in seconds")
    p.add_argument("--boot-timeout", type=float, default=300.0, help="seconds to wait for a VM's SSH")
    p.add_argument("--history", type=Path, metavar="PATH", help="append the results to this SQLite history file")
    p.add_argument("--fail-on", choices=("doc", "any"), default="any",
                   help="exit 1 on doc bugs only, or on any failure (default)")
    p.add_argument("--keep-on-failure", action="store_true",
                   help="leave a failed guide's VM running to inspect it (kept VMs are idle and not counted in --jobs)")
    p.add_argument("--codeowners", type=Path, metavar="FILE", help="group the checklist by owner")
    p.add_argument("--no-progress", action="store_true", help="no live progress on the terminal")
    p.add_argument("--shard", type=parse_shard, metavar="I/N",
                   help="run only part I of N of the guides (stable split, balanced by --history durations); "
                   "combine the parts with `doctest-runner merge`")
    p.add_argument("--host", dest="hosts", action="append", default=[], metavar="URI",
                   help="also run guides on this libvirt host (qemu+ssh://user@host/system; repeatable); "
                   "guides go to the host with the most free VM slots")
    p.add_argument("--no-local", action="store_true", help="with --host: run no guide on the local libvirt")
    p.add_argument("--cold-boot", action="store_true",
                   help="boot every VM cold instead of restoring a saved booted machine")
    p.add_argument("--checkpoint", choices=("step", "heading", "off"), default="step",
                   help="checkpoint each guide's VM after every passing step (default), only where the heading "
                   "changes, or never; --resume starts from them")
    p.add_argument("--resume", action="store_true",
                   help="start each guide from its last checkpoint whose steps above are unchanged")
    p.add_argument("--no-package-cache", action="store_true",
                   help="guests download Debian packages straight from the origin, not through the host's "
                   "package cache (apt-cacher-ng on 127.0.0.1, started when installed; `doctor` shows it)")
    p.add_argument("--no-shared-prefix", action="store_true",
                   help="do not run the first steps that guides share only once")
    p.add_argument("--cache-max", metavar="SIZE", help="size limit of saved machines and checkpoints (default 10G)")
    p.add_argument("--trust-check-modules", action="store_true",
                   help="run sidecars' check_modules: runs code from the docs repo on this host (without it they "
                   "are reported as not run)")
    p.add_argument("--recipes", action="append", default=[], metavar="DIR",
                   help="also look image names up in this recipe folder, before vm_images/ (repeatable); "
                   "docs name images, never recipe files")
    p.add_argument("--suggest-fixes", action="store_true",
                   help="for each guide's first failure with a doc-bug category, propose edits of the doc from the "
                   "failed machine, try each in a run of its own (from the checkpoint before the failed step when "
                   "there is one; within --jobs) and write fixes/<doc>.patch for the verified ones and fixes.md "
                   "for all, with their verdicts in every report")
    p.add_argument("--annotations", choices=("github",), metavar="github",
                   help="after the run, print a GitHub workflow annotation (::error file=...,line=...::) per broken "
                   "step and append a Markdown summary to $GITHUB_STEP_SUMMARY when it is set")
    return p


def apply_recipes(args: argparse.Namespace) -> None:
    """`--image` must be a recipe name; `--recipes DIR` folders are searched first (via DOCTEST_RUNNER_RECIPES,
    which every image build of this process reads)."""
    for image in args.images:
        if trust.image_name_problem(image):
            raise DoctestError(f"--image: {trust.image_name_problem(image)}")
    for folder in args.recipes:
        if not Path(folder).is_dir():
            raise DoctestError("--recipes must be an existing folder", folder)
    if args.recipes:
        known = os.environ.get("DOCTEST_RUNNER_RECIPES", "")
        os.environ["DOCTEST_RUNNER_RECIPES"] = ":".join([str(Path(d).absolute()) for d in args.recipes]
                                                        + ([known] if known else []))


def load_plans(args: argparse.Namespace):
    """Plans for the arguments, with every file's error printed (one line each) and kept going."""
    planset = plan_matrix(list(args.paths), source=args.source, images=list(args.images))
    planned, why = len(planset.plans), list[str]()
    if getattr(args, "changed", None):  # `run --changed REF` (walk has no such option)
        planset, why = changed_planset(planset, args.changed, list(args.paths))
    for note in [*planset.notes, *why]:
        print(f"doctest-runner: note: {note}", file=sys.stderr)
    for err in planset.errors:
        print(f"doctest-runner: error: {err}", file=sys.stderr)
    for plan in planset.plans:  # non-fatal: the doc is still run
        for err in plan.errors:
            print(f"doctest-runner: warning: {err}", file=sys.stderr)
    sel = Selection(keyword=args.keyword, heading=args.heading, name=args.name)
    plans = apply_selection(planset.plans, sel)
    if planned and not planset.plans and not planset.errors:
        raise NothingChanged(nothing_message(args.changed, list(args.paths), planned))
    if not plans:
        raise DoctestError("no guide selected" + ("" if planset.plans else ": no steps found in the given paths"))
    return plans, planset


def _size(text: str | None) -> int | None:
    from doctest_runner.vm import store  # lazy: the VM layer loads paramiko; other commands skip it

    try:
        return store.parse_size(text) if text else None
    except ValueError as exc:
        raise DoctestError(f"--cache-max: {exc}") from None


def guide_options(args: argparse.Namespace, accel: str | None, host: HostInfo) -> GuideOptions:
    """What every guide of the run is asked (shared with `fix`)."""
    return GuideOptions(
        keep_going=args.keep_going,
        output_mode=args.output,
        default_timeout=args.timeout,
        boot_timeout=args.boot_timeout,
        accel=accel,
        host=host,
        image=None,  # each plan carries its image (--image is already folded into the plans)
        keep_on_failure=args.keep_on_failure,
        fast=not args.cold_boot,
        checkpoint=args.checkpoint,
        resume=args.resume,
        trust_check_modules=args.trust_check_modules,
        package_cache=not args.no_package_cache,  # the runner starts it, or says why not
        suggest_fixes=getattr(args, "suggest_fixes", False),
    )


def fixes_line(result: RunResult, out: Path) -> str:
    """One line after a --suggest-fixes run: how many candidates were tried, how many verified, where they are."""
    tried = [f for d in result.docs for r in d.steps for f in r.fixes if isinstance(f, Fix)]
    verified = sum(1 for f in tried if f.verdict.status == "verified")
    return f"fixes: {len(tried)} candidate(s) tried, {verified} verified: {out}/fixes.md, {out}/fixes/"


def run(args: argparse.Namespace) -> int:
    return execute(args)[0]


def execute(args: argparse.Namespace) -> tuple[int, RunResult | None]:
    """The run command: its exit status and the run's result (None: nothing ran). `fix` runs guides through it."""
    if args.no_local and not args.hosts:
        raise DoctestError("--no-local needs at least one --host URI")
    if args.hosts:
        from doctest_runner.vm import parse_host  # lazy: the VM layer loads paramiko; other commands skip it

        for uri in args.hosts:  # a malformed URI fails before anything is planned or built
            parse_host(uri)
    apply_recipes(args)
    try:
        plans, planset = load_plans(args)
    except NothingChanged as nothing:  # --changed REF touched no guide: nothing to run, and that is a pass
        print(nothing, file=sys.stderr)
        if getattr(args, "annotations", None):  # the job summary says so too, instead of staying empty
            problem = emit(args.annotations, None, out=sys.stdout, nothing=str(nothing))
            if problem:
                print(f"doctest-runner: warning: {problem}", file=sys.stderr)
        return 0, None
    plans = apply_shard(plans, args.shard, history=args.history, out_dir=args.out,
                        log=lambda msg: print(msg, file=sys.stderr))
    from doctest_runner.vm import requested_accel  # lazy: the VM layer loads paramiko; other commands skip it

    accel = requested_accel(args.accel)  # the user's setting, read once here and passed down
    host = check_host_ready(accel)
    if not args.no_local:
        print(f"acceleration: {host.accel} ({host.why})", file=sys.stderr)
    options = RunOptions(
        guide=guide_options(args, accel, host),
        jobs=args.jobs,
        out_dir=args.out,
        history=args.history,
        fail_on=args.fail_on,
        codeowners=args.codeowners,
        source_root=Path(args.source) if args.source else None,
        progress=not args.no_progress,
        hosts=list(args.hosts),
        local=not args.no_local,
        prefixes=not args.no_shared_prefix,
        cache_max=_size(args.cache_max),
    )
    t0 = time.monotonic()
    result = run_plans(plans, options, host=host)
    print(summary_text(result, wall_s=time.monotonic() - t0))
    if options.guide.fast and options.local:  # what the saved machines and checkpoints now take on disk
        from doctest_runner.vm import store  # lazy: the VM layer loads paramiko; other commands skip it

        try:
            print(store.usage().text(options.cache_max))
        except OSError as exc:
            print(f"cache: size unknown ({exc})")
    print(f"reports: {args.out}/report.html, report.json, junit.xml, checklist.md")
    if args.suggest_fixes:
        print(fixes_line(result, args.out))
    if getattr(args, "annotations", None):  # after the reports: annotations never hold up report.json
        problem = emit(args.annotations, result, out=sys.stdout, plan_errors=list(planset.errors))
        if problem:
            print(f"doctest-runner: warning: {problem}", file=sys.stderr)
    status = exit_status(result, args.fail_on)
    if planset.errors:  # a doc or sidecar that could not be read: the run is incomplete
        status = 2
    return status, result
