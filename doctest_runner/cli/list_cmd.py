"""`doctest-runner list`: every step that would run, in order, with where it comes from.

The cheapest way to see what the harness made of a guide before spending a VM
on it: one line per step (`file:line  [heading path]  status  command`), or the
same as JSON for tools.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import TextIO

from doctest_runner.model import Plan, Prerequisite, Step
from doctest_runner.plan import changed_planset, nothing_message, plan_matrix


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "list",
        help="list the steps of guides in the order they would run",
        description="List every step of the given guides (files, folders or doc sets) in run order, "
                    "with file:line, heading path, status and command. Nothing is executed.",
        epilog="exit status: 0 every doc listed; 1 a doc or sidecar could not be read (the others are "
        "listed); 2 usage error or no doc found\n\n"
        "example:\n  doctest-runner list docs_under_test/examples/hello-service.md",
    )
    parser.add_argument("paths", nargs="+", metavar="DOC|DIR", help="Markdown guide, folder or doc-set folder")
    parser.add_argument("--json", action="store_true", help="print the steps as JSON (a list of docs)")
    parser.add_argument("--source", metavar="DIR",
                        help="read doc sets' docs from this local checkout instead of their source:")
    parser.add_argument("--image", dest="images", action="append", default=[], metavar="NAME",
                        help="plan for this image (overrides sidecars and doc sets); repeat it to list the "
                        "steps for each image")
    parser.add_argument("--changed", metavar="REF",
                        help="only the guides whose Markdown, sidecar, fixtures, check modules, doc-set manifest or "
                        "image recipe differ between the git commit REF and the work tree (untracked files "
                        "included); exit 0 with a message when none does")
    return parser


def plan_steps(plan: Plan) -> list[Step]:
    """Everything that will run for a plan, in order: setup, the guide, cleanup."""
    return [*plan.setup, *plan.steps, *plan.cleanup]


def step_line(step: Step) -> str:
    """`file:line  [A > B]  status  command` (first line of a multi-line command, then ` …`)."""
    status = step.status if step.status == "run" else f"skip ({step.reason})" if step.reason else "skip"
    marks: list[str] = []
    if step.kind in ("setup", "cleanup"):
        marks.append(step.kind)
    if step.origin == "sidecar":
        marks.append("from sidecar")
    if step.why and step.status == "run":  # how the parser read an ambiguous block (a skip shows its reason)
        marks.append(f"why: {step.why}")
    if marks:
        status += f" [{', '.join(marks)}]"
    lines = step.command.split("\n")
    command = lines[0] + (" …" if len(lines) > 1 else "")
    return f"{step.path}:{step.line}  [{' > '.join(step.heading)}]  {status}  {command}"


def step_json(step: Step) -> dict[str, object]:
    options = asdict(step.options)
    options["requires"] = list(step.options.requires)
    return {
        "id": step.id,
        "path": step.path,
        "line": step.line,
        "end_line": step.end_line,
        "heading": list(step.heading),
        "command": step.command,
        "expected_output": step.expected_output,
        "status": step.status,
        "reason": step.reason,
        "kind": step.kind,
        "origin": step.origin,
        "alternative": step.alternative,
        "file_path": step.file_path,
        "platform": step.platform,
        "why": step.why,
        "options": options,
    }


def plan_json(plan: Plan) -> dict[str, object]:
    return {
        "path": plan.path,
        "image": plan.image,
        "distro": plan.distro,
        "sidecar": plan.sidecar,
        "steps": [step_json(step) for step in plan_steps(plan)],
        "notes": list(plan.notes),
        "prerequisites": [prerequisite_json(p) for p in plan.prerequisites],
    }


def prerequisites_text(prerequisites: list[Prerequisite]) -> str:
    """`; prerequisites: Docker (line 7), Go (line 11); assumed: git (line 40)` for the doc header ('' if none);
    the sentences are in `--json`."""
    out = ""
    for title, assumed in (("prerequisites", False), ("assumed", True)):
        names = [f"{p.name} (line {p.line})" for p in prerequisites if p.assumed == assumed]
        if names:
            out += f"; {title}: {', '.join(names)}"
    return out


def prerequisite_json(pre: Prerequisite) -> dict[str, object]:
    return {"name": pre.name, "provides": list(pre.provides), "sentence": pre.sentence, "line": pre.line,
            "assumed": pre.assumed}


def print_text(plans: list[Plan], out: TextIO) -> None:
    for plan in plans:
        steps = plan_steps(plan)
        skipped = sum(1 for s in steps if s.status == "skip")
        extra = f", sidecar {plan.sidecar}" if plan.sidecar else ""
        assumes = prerequisites_text(plan.prerequisites)  # a failure for want of one is `prerequisite`
        print(f"# {plan.path}  ({plan.image}{extra}; {len(steps)} steps, {skipped} skipped{assumes})", file=out)
        for step in steps:
            print(step_line(step), file=out)


def run(args: argparse.Namespace) -> int:
    result = plan_matrix(args.paths, source=args.source, images=args.images)
    planned = len(result.plans)
    why: list[str] = []
    if getattr(args, "changed", None):
        result, why = changed_planset(result, args.changed, list(args.paths))
    if args.json:
        json.dump([plan_json(plan) for plan in result.plans], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_text(result.plans, sys.stdout)
    sys.stdout.flush()
    for note in [*result.notes, *why]:
        print(f"doctest-runner: note: {note}", file=sys.stderr)
    errors = result.all_errors
    for error in errors:
        print(str(error), file=sys.stderr)  # path:line: message, as compilers print (editors link it)
    if planned and not result.plans:  # --changed selected none of the planned guides
        if not errors:
            print(nothing_message(args.changed, list(args.paths), planned), file=sys.stderr)
        return 1 if errors else 0
    if not result.plans:
        if not errors:
            print("doctest-runner: error: no docs found in " + " ".join(args.paths), file=sys.stderr)
        return 2
    return 1 if errors else 0
