"""Arguments -> plans for every doc: the one entry point lint, list, run and the pytest plugin share."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from doctest_runner.model import DoctestError, ParsedDoc, Plan
from doctest_runner.parse import parse_file
from doctest_runner.plan.build import plan_doc
from doctest_runner.plan.discover import DocTarget, run_discovery
from doctest_runner.plan.prereq import assumptions, setup_conditions
from doctest_runner.plan.yamlnodes import flatten


@dataclass
class PlanSet:
    """Plans for every doc that could be planned, and why the others could not."""

    plans: list[Plan] = field(default_factory=list)
    errors: list[DoctestError] = field(default_factory=list)  # discovery, sidecar, parse and planning errors
    notes: list[str] = field(default_factory=list)
    targets: list[DocTarget] = field(default_factory=list)  # parallel to `plans`

    @property
    def all_errors(self) -> list[DoctestError]:
        """Errors of the set plus the non-fatal parser errors inside each plan."""
        return self.errors + [e for plan in self.plans for e in plan.errors]


def plan_paths(args: list[str], *, source: str | os.PathLike[str] | None = None,
               image: str | None = None, max_doc_bytes: int | None = None) -> PlanSet:
    """Discover, parse and plan every argument; each file's error is collected and the others go on.

    Image precedence: `image` (the CLI's --image) > the sidecar's > the doc set's > debian-12.
    A bad `source` (not a folder) raises: that is a usage error, not a per-file one.
    """
    found = run_discovery(args, source)
    result = PlanSet(errors=list(found.errors), notes=list(found.notes))
    parsed_cache: dict[tuple[Path, str], ParsedDoc] = {}
    for target in found.targets:
        key = (target.doc_path.resolve(), target.display)
        try:
            if key not in parsed_cache:
                _check_size(target, max_doc_bytes)  # before parsing: lint's doc size limit
                parsed_cache[key] = parse_file(target.doc_path, display_path=target.display)
            parsed = parsed_cache[key]
            sidecar = found.sidecars.get(target.sidecar.absolute()) if target.sidecar else None
            chosen = image or (sidecar.image if sidecar else None) or (
                target.docset.image if target.docset else None)
            plan = plan_doc(parsed, sidecar, image=chosen)
            plan.prerequisites, plan.word_steps = assumptions(parsed, target.doc_path, plan)  # plan/prereq.py
            plan.conditions = setup_conditions(parsed, target.doc_path)  # blocks run only "if you have X"
        except DoctestError as exc:
            result.errors.extend(flatten(exc))
            continue
        result.plans.append(plan)
        result.targets.append(target)
        result.notes.extend(plan.notes)
    return result


def plan_matrix(args: list[str], *, source: str | os.PathLike[str] | None = None, images: list[str] | None = None,
                max_doc_bytes: int | None = None) -> PlanSet:
    """`plan_paths` once per image (the CLI's repeated --image): every guide on each image, image by image.

    No image, or one: exactly `plan_paths`. With several, each plan carries its image, so the runner and the
    reports tell the guide's runs apart by (path, image); an error of a file is reported once, not per image.
    """
    names = list(dict.fromkeys(images or []))  # `--image a --image a` is one image
    if len(names) <= 1:
        return plan_paths(args, source=source, image=names[0] if names else None, max_doc_bytes=max_doc_bytes)
    result = PlanSet()
    seen: set[str] = set()
    for name in names:
        part = plan_paths(args, source=source, image=name, max_doc_bytes=max_doc_bytes)
        result.plans.extend(part.plans)
        result.targets.extend(part.targets)
        for err in part.errors:
            if str(err) not in seen:
                seen.add(str(err))
                result.errors.append(err)
        result.notes.extend(n for n in part.notes if n not in result.notes)
    return result


def _check_size(target: DocTarget, max_doc_bytes: int | None) -> None:
    """A doc over `max_doc_bytes` (the caller's limit: lint's) is a one-line error and is not parsed."""
    if max_doc_bytes is None:
        return
    try:
        size = target.doc_path.stat().st_size
    except OSError:
        return  # parse_file says what is wrong with it
    if size > max_doc_bytes:
        raise DoctestError(f"doc is {size / 1048576:.1f} MiB, over the size limit of {max_doc_bytes / 1048576:g} MiB: "
                           "not read", target.display)
