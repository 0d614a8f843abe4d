"""`--changed REF`: only the guides that a change touches, for a pull-request job.

A guide's verdict depends on more than its Markdown: its sidecar, the fixtures and check modules
that sidecar names, the doc-set manifest above it and the image recipe it runs on (with the
recipes that one `extends`). A pull request that edits any of those must run the guide again, and
one that edits none of a guide's inputs need not. The changed files are what `git diff --name-only
REF` reports against the work tree plus untracked files (the change as it sits on disk, committed
or not); everything else here is pure matching of those files against each planned guide's inputs.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from doctest_runner import trust
from doctest_runner.image import default_recipe_dirs, load_recipe
from doctest_runner.model import DoctestError, Plan
from doctest_runner.plan.discover import DocTarget
from doctest_runner.plan.docset import MANIFEST_NAME
from doctest_runner.plan.planset import PlanSet
from doctest_runner.plan.sidecar import SIDECAR_SUFFIX

GIT_TIMEOUT_S = 60  # each git call; a diff of a docs repo takes well under a second


class NothingChanged(Exception):
    """No planned guide is touched by the change: the caller prints the message and exits 0."""


@dataclass(frozen=True)
class Changes:
    """The files a change touches in the git work trees of the arguments (real paths, deleted ones too)."""

    ref: str
    trees: tuple[Path, ...]
    paths: frozenset[Path]

    def inside_trees(self, path: Path) -> bool:
        return any(path == top or top in path.parents for top in self.trees)


@dataclass
class GuideInputs:
    """Every file whose change can change one planned guide's verdict, each with what it is to the guide."""

    files: list[tuple[Path, str]] = field(default_factory=list)  # (real path, "its sidecar x.doctest.yaml")
    folders: list[tuple[Path, str]] = field(default_factory=list)  # fixture folders: any file below counts


@dataclass
class ChangedSelection:
    """The guides a change touches, parallel lists like PlanSet's, with why each one was selected."""

    plans: list[Plan] = field(default_factory=list)
    targets: list[DocTarget] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    considered: int = 0


# --- git (the only side effect here) ------------------------------------------------------------------------

def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """git without hooks, fsmonitor, external diff or prompts, bounded in time (trust.py)."""
    env = dict(os.environ, LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    try:
        return subprocess.run(["git", *trust.GIT_SAFE_CONFIG, *args], cwd=cwd, env=env, capture_output=True,
                              timeout=GIT_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise DoctestError("--changed needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise DoctestError(f"--changed: git {args[0]} took longer than {GIT_TIMEOUT_S} s in {cwd}") from None


def _last_line(data: bytes) -> str:
    lines = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no output"


def ref_problem(ref: str) -> str | None:
    """Why a REF is refused before git sees it (None: let git decide): never an option, never control text."""
    if not ref.strip():
        return "REF is empty"
    if ref.startswith("-") or any(ord(c) < 0x20 or c == "\x7f" for c in ref):
        return f"REF {ref[:80]!r} must not start with '-' or hold control characters"
    return None


def work_tree(arg: str) -> Path:
    """The git work tree an argument is in (its real path), or a one-line error."""
    path = Path(arg).absolute()
    folder = path if path.is_dir() else path.parent
    if not folder.is_dir():
        raise DoctestError("no such file or directory", arg)
    done = _git(["rev-parse", "--show-toplevel"], folder)
    top = done.stdout.decode("utf-8", "surrogateescape").strip()
    if done.returncode != 0 or not top:
        raise DoctestError(f"--changed compares with git, but {arg} is not in a git work tree")
    return Path(os.path.realpath(top))


def _split_z(data: bytes) -> list[str]:
    return [os.fsdecode(p) for p in data.split(b"\0") if p]


def git_changes(ref: str, args: list[str]) -> Changes:
    """The files that differ between `ref` and the work tree (tracked: committed, staged or not; untracked but
    not ignored), in the work trees of `args`. A REF git does not know is a one-line error."""
    problem = ref_problem(ref)
    if problem:
        raise DoctestError(f"--changed: {problem}")
    trees: list[Path] = []
    for arg in args:
        if not os.path.lexists(arg):
            continue  # planning reported it already ("no such file or directory"); nothing of it can change
        top = work_tree(arg)
        if top not in trees:
            trees.append(top)
    paths: set[Path] = set()
    for top in trees:
        verified = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top)
        commit = verified.stdout.decode("ascii", "replace").strip()
        if verified.returncode != 0 or not commit:
            raise DoctestError(f"--changed: {ref[:80]!r} is not a commit in the git repository {top}")
        diff = _git(["diff", "--name-only", "--no-renames", "--no-ext-diff", "--no-textconv", "-z", commit, "--"],
                    top)
        if diff.returncode != 0:
            raise DoctestError(f"--changed: git diff {ref[:80]} failed in {top}: {_last_line(diff.stderr)}")
        untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], top)
        if untracked.returncode != 0:
            raise DoctestError(f"--changed: git ls-files failed in {top}: {_last_line(untracked.stderr)}")
        for rel in _split_z(diff.stdout) + _split_z(untracked.stdout):
            paths.add(Path(os.path.realpath(top / rel)))
    return Changes(ref=ref, trees=tuple(trees), paths=frozenset(paths))


# --- matching (pure) ------------------------------------------------------------------------------------------

def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(path))


def _shown(path: Path) -> str:
    """A path for a message: relative to the current folder when below it."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def recipe_files(image: str, lookup: dict[str, tuple[Path, ...]] | None = None) -> tuple[Path, ...]:
    """The recipe files an image is built from: its recipe and every recipe it `extends`, as real paths.

    An image without a loadable recipe (a name only `list` plans for, or a recipe that is broken right now)
    is the `<image>.yaml` / `.yml` that the lookup would read in each recipe folder, so a change that adds
    or breaks it still selects its guides."""
    if lookup is not None and image in lookup:
        return lookup[image]
    try:
        found = tuple(_real(p) for p in load_recipe(image).sources)
    except DoctestError:
        found = tuple(_real(d / f"{image}{ext}") for d in default_recipe_dirs() for ext in (".yaml", ".yml"))
    if lookup is not None:
        lookup[image] = found
    return found


def guide_inputs(plan: Plan, target: DocTarget, recipes: tuple[Path, ...]) -> GuideInputs:
    """What one planned guide reads: its Markdown, sidecar, fixtures, check modules, manifest and recipes."""
    inputs = GuideInputs()
    inputs.files.append((_real(target.doc_path), "the guide changed"))
    if target.sidecar is not None:
        inputs.files.append((_real(target.sidecar), f"its sidecar {target.sidecar_display or target.sidecar.name} "
                                                    "changed"))
    for local, _dest in plan.fixtures:
        real = _real(local)
        where = (inputs.folders if real.is_dir() else inputs.files)
        where.append((real, f"its fixture {_shown(real)} changed"))
    for module in plan.check_modules:
        inputs.files.append((_real(module), f"its check module {_shown(_real(module))} changed"))
    if target.docset is not None:
        inputs.files.append((_real(target.docset.manifest), f"its doc-set manifest {target.docset.manifest_display} "
                                                             "changed"))
    for recipe in recipes:
        inputs.files.append((recipe, f"its image recipe {_shown(recipe)} changed (image {plan.image})"))
    return inputs


def _same_set(path: Path, root: Path) -> bool:
    """`path` is in the set at `root`, not in a set nested below it (sets do not nest)."""
    return not any((folder / MANIFEST_NAME).is_file() for folder in path.parents
                   if root in folder.parents)


def removed_sidecars(targets: list[DocTarget], changed: frozenset[Path]) -> dict[int, str]:
    """Guides (index into `targets`) that a sidecar removed by the change may have been for, with why.

    The guide has no sidecar now, and the removed file was beside it (a doc outside a set) or in its set.
    The guide the sidecar's name stands for (`x.doctest.yaml` -> `x.md`) is the one when there is one;
    otherwise the removed sidecar named its doc with `doc:`, which is gone with it, so every candidate runs."""
    out: dict[int, str] = {}
    for path in sorted(p for p in changed if p.name.endswith(SIDECAR_SUFFIX) and not p.exists()):
        stem_md = path.name[: -len(SIDECAR_SUFFIX)] + ".md"
        candidates: list[tuple[int, bool]] = []  # (index, named by the sidecar's own name)
        for index, target in enumerate(targets):
            if target.sidecar is not None:
                continue
            doc = _real(target.doc_path)
            docset = target.docset
            if docset is not None:
                root = _real(docset.root)
                if root not in path.parents or not _same_set(path, root) or docset.source_root is None:
                    continue
                named = doc == _real(docset.source_root / path.parent.relative_to(root) / stem_md)
            elif path.parent == doc.parent:
                named = doc.name == stem_md
            else:
                continue
            candidates.append((index, named))
        exact = [index for index, named in candidates if named]
        for index in exact or [index for index, _ in candidates]:
            out.setdefault(index, f"its sidecar {_shown(path)} was removed" if exact else
                           f"a sidecar that may have been for it was removed ({_shown(path)})")
    return out


def touched_by(inputs: GuideInputs, changed: frozenset[Path]) -> str | None:
    """Why the change touches this guide (the first of its inputs that changed), or None."""
    for path, reason in inputs.files:
        if path in changed:
            return reason
    for folder, reason in inputs.folders:
        if folder in changed or any(folder in path.parents for path in changed):
            return reason
    return None


def select_changed(plans: list[Plan], targets: list[DocTarget], changed: frozenset[Path], *,
                   recipes: dict[str, tuple[Path, ...]] | None = None) -> ChangedSelection:
    """The planned guides (plans and their parallel targets) whose inputs the changed files touch, in order."""
    lookup: dict[str, tuple[Path, ...]] = dict(recipes or {})
    removed = removed_sidecars(targets, changed)
    chosen = ChangedSelection(considered=len(plans))
    for index, (plan, target) in enumerate(zip(plans, targets, strict=True)):
        reason = touched_by(guide_inputs(plan, target, recipe_files(plan.image, lookup)), changed)
        reason = reason or removed.get(index)
        if reason is not None:
            chosen.plans.append(plan)
            chosen.targets.append(target)
            chosen.reasons.append(reason)
    return chosen


def outside_notes(targets: list[DocTarget], changes: Changes) -> list[str]:
    """Doc sets whose docs are read from outside the compared work trees (a fetched `git:` source, or
    `--source DIR` elsewhere): only their sidecars, fixtures, manifest and recipes can show as changed."""
    notes: list[str] = []
    seen: set[Path] = set()
    for target in targets:
        docset = target.docset
        if docset is None or docset.source_root is None or docset.manifest in seen:
            continue
        seen.add(docset.manifest)
        if not changes.inside_trees(_real(docset.source_root)):
            notes.append(f"--changed {changes.ref}: doc set {docset.name} reads its docs from {docset.source_desc}, "
                         f"outside the git work tree, so only changes to its sidecars, fixtures, manifest and image "
                         f"recipes select its guides")
    return notes


def nothing_message(ref: str, paths: list[str], considered: int) -> str:
    """The one line printed when the change touches no guide (exit 0)."""
    guides = "guide" if considered == 1 else "guides"
    return (f"doctest-runner: nothing to do: none of the {considered} {guides} in {' '.join(paths)} changed "
            f"since {ref} (Markdown, sidecars, fixtures, doc-set manifests, image recipes)")


def _which(plan: Plan, shown: list[str]) -> str:
    """The guide for a note; with its sidecar and image when the same doc is selected more than once."""
    if shown.count(plan.path) == 1:
        return plan.path
    return f"{plan.path} (" + (f"sidecar {plan.sidecar}, " if plan.sidecar else "") + f"image {plan.image})"


def changed_planset(planset: PlanSet, ref: str, paths: list[str]) -> tuple[PlanSet, list[str]]:
    """`planset` narrowed to the guides changed since `ref` (errors and notes kept), and one note per selected
    guide saying why. Raises DoctestError for a bad REF or an argument outside git."""
    changes = git_changes(ref, paths)
    chosen = select_changed(planset.plans, planset.targets, changes.paths)
    narrowed = PlanSet(plans=chosen.plans, errors=list(planset.errors),
                       notes=list(planset.notes) + outside_notes(planset.targets, changes), targets=chosen.targets)
    shown = [plan.path for plan in chosen.plans]
    why = [f"--changed {ref}: {_which(plan, shown)}: {reason}"
           for plan, reason in zip(chosen.plans, chosen.reasons, strict=True)]
    return narrowed, why
