"""Command-line arguments -> the docs to plan, each with its sidecar and doc set.

Arguments may be docs, folders (walked for `*.md`), doc sets (folders with
`doctest-set.yaml`) or sidecars. A bad argument or a broken sidecar is recorded
as an error and the rest goes on: one typo must not hide the other guides.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from doctest_runner import trust
from doctest_runner.model import DoctestError
from doctest_runner.plan.docset import MANIFEST_NAME, DocSet, load_manifest, resolve_source
from doctest_runner.plan.sidecar import SIDECAR_SUFFIX, Sidecar, load_sidecar
from doctest_runner.plan.yamlnodes import excerpt, flatten


@dataclass
class DocTarget:
    """One doc to plan: where it is, how to show it, and what applies to it."""

    doc_path: Path
    display: str  # for a doc set: relative to the set's source root, e.g. docs/installation.md
    sidecar: Path | None = None
    docset: DocSet | None = None
    sidecar_display: str | None = None


def _join(display: str, *parts: str) -> str:
    return os.path.normpath(os.path.join(display, *parts))


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


@dataclass
class Discovery:
    """The state of one discovery pass (shared by `discover` and `plan_paths`)."""

    source: Path | None = None
    targets: list[DocTarget] = field(default_factory=list)
    errors: list[DoctestError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sidecars: dict[Path, Sidecar | None] = field(default_factory=dict)  # None: failed to load (error recorded)
    _seen: set[tuple[Path, Path | None]] = field(default_factory=set)
    _sets_entered: int = 0
    tree: Path | None = None  # the docs tree of the argument being discovered (trust.docs_root)

    # --- helpers

    def sidecar(self, path: Path, display: str, root: Path | None = None) -> Sidecar | None:
        """The sidecar at `path`, loaded once; its files must stay in `root` (default: the argument's tree)."""
        key = path.absolute()
        if key not in self.sidecars:
            root = root or self.tree or path.absolute().parent
            try:
                if not trust.is_inside(path, root):
                    raise DoctestError(f"sidecar {trust.OUTSIDE}", display)
                self.sidecars[key] = load_sidecar(path, display, root=root)
            except DoctestError as exc:
                self.errors.extend(flatten(exc))
                self.sidecars[key] = None
        return self.sidecars[key]

    def _emit(self, target: DocTarget) -> None:
        key = (target.doc_path.resolve(), target.sidecar.resolve() if target.sidecar else None)
        if key not in self._seen:
            self._seen.add(key)
            self.targets.append(target)

    # --- arguments

    def add(self, arg: str) -> None:
        path = Path(arg)
        self.tree = trust.docs_root(path)
        if path.is_symlink() and not trust.is_inside(path, self.tree):
            self.errors.append(DoctestError(f"symlink {trust.OUTSIDE}", arg))
        elif not path.exists():
            self.errors.append(DoctestError("no such file or directory", arg))
        elif path.is_dir():
            if (path / MANIFEST_NAME).is_file():
                self.add_set(path, arg, named=True)
            else:
                self.walk(path, arg)
        elif path.name == MANIFEST_NAME:
            self.add_set(path.parent, os.path.dirname(arg) or ".", named=True)
        elif path.name.endswith(SIDECAR_SUFFIX):
            self.add_sidecar_file(path, arg)
        else:
            self.add_doc_file(path, arg)

    def add_doc_file(self, path: Path, display: str) -> None:
        """A doc named directly: its side-by-side sidecar is `<stem>.doctest.yaml` (or a sibling naming it)."""
        own = path.with_name(path.stem + SIDECAR_SUFFIX)
        if own.is_file():
            sidecar = self.sidecar(own, _join(os.path.dirname(display), own.name))
            if sidecar is None:
                return  # its error explains why the doc is not planned
            if self._side_doc(own, sidecar) == path.resolve():
                self._emit(DocTarget(path, display, own, None, sidecar.display))
                return
        for other in sorted(path.parent.glob("*" + SIDECAR_SUFFIX)):
            if other == own:
                continue
            other_display = _join(os.path.dirname(display), other.name)
            try:  # a sibling's problems are its own doc's business, not this doc's
                if not trust.is_inside(other, self.tree or path.parent):
                    continue
                sibling = load_sidecar(other, other_display, root=self.tree)
            except DoctestError:
                continue
            if sibling.doc and self._side_doc(other, sibling) == path.resolve():
                self.sidecars[other.absolute()] = sibling
                self._emit(DocTarget(path, display, other, None, sibling.display))
                return
        self._emit(DocTarget(path, display))

    @staticmethod
    def _side_doc(sidecar_path: Path, sidecar: Sidecar) -> Path:
        """The doc a side-by-side sidecar is for: `doc:` (relative to its folder) or `<stem>.md`."""
        if sidecar.doc:
            return (sidecar_path.parent / sidecar.doc).resolve()
        return sidecar_path.with_name(sidecar_path.name[: -len(SIDECAR_SUFFIX)] + ".md").resolve()

    def add_sidecar_file(self, path: Path, display: str) -> None:
        """A sidecar named directly: plan just its doc (inside a doc set if one encloses it)."""
        for parent in path.absolute().parents:
            if (parent / MANIFEST_NAME).is_file():
                rel = os.path.relpath(path.absolute(), parent)
                set_display = os.path.normpath(display[: -len(rel)] or ".") if display.endswith(rel) else str(parent)
                docset = self._enter_set(parent, set_display)
                if docset is not None:
                    self._set_sidecar(docset, path.absolute())
                return
        sidecar = self.sidecar(path, display)
        if sidecar is None:
            return
        doc = self._side_doc(path, sidecar)
        if not self._doc_inside(doc, sidecar):
            return
        if not doc.is_file():
            self.errors.append(DoctestError(f"doc {os.path.relpath(doc)} not found", display,
                                            sidecar.doc_line or None))
            return
        shown = _join(os.path.dirname(display), sidecar.doc) if sidecar.doc else _join(
            os.path.dirname(display), doc.name)
        self._emit(DocTarget(doc, shown, path, None, sidecar.display))

    def walk(self, folder: Path, display: str, visited: set[Path] | None = None) -> None:
        """Recurse into a folder: `*.md` in sorted order, side-by-side sidecars, nested doc sets."""
        visited = visited if visited is not None else set()
        real = folder.resolve()
        if real in visited:
            return  # a symlink loop
        visited.add(real)
        try:
            entries = sorted(folder.iterdir(), key=lambda p: p.name)
        except OSError as exc:
            self.errors.append(DoctestError(f"cannot read folder: {exc.strerror}", display))
            return
        entries = [e for e in entries if _is_hidden(e.name) or self._entry_inside(e, _join(display, e.name))]
        by_doc: dict[Path, list[tuple[Path, Sidecar]]] = {}
        blocked: set[Path] = set()  # docs whose own sidecar is broken: its error says why they are not planned
        for entry in entries:
            if entry.name.endswith(SIDECAR_SUFFIX) and entry.is_file() and not _is_hidden(entry.name):
                sidecar = self.sidecar(entry, _join(display, entry.name))
                if sidecar is None:
                    blocked.add(entry.with_name(entry.name[: -len(SIDECAR_SUFFIX)] + ".md").resolve())
                else:
                    doc = self._side_doc(entry, sidecar)
                    if not self._doc_inside(doc, sidecar):
                        continue
                    if not doc.is_file():
                        self.errors.append(DoctestError(f"doc {os.path.relpath(doc)} not found", sidecar.display,
                                                        sidecar.doc_line or None))
                    else:
                        by_doc.setdefault(doc, []).append((entry, sidecar))
        done: set[Path] = set()
        for entry in entries:
            if _is_hidden(entry.name):
                continue
            if entry.is_dir():
                if (entry / MANIFEST_NAME).is_file():
                    self.add_set(entry, _join(display, entry.name), named=False)
                else:
                    self.walk(entry, _join(display, entry.name), visited)
            elif entry.suffix == ".md" and entry.is_file():
                if entry.resolve() in blocked and entry.resolve() not in by_doc:
                    continue
                self._emit_with_sidecars(entry, _join(display, entry.name), by_doc.get(entry.resolve(), []))
                done.add(entry.resolve())
        for doc, pairs in by_doc.items():  # sidecars here naming a doc elsewhere
            if doc not in done:
                _first_path, first = pairs[0]
                self._emit_with_sidecars(doc, _join(os.path.dirname(first.display), first.doc or doc.name), pairs)

    def _entry_inside(self, entry: Path, display: str) -> bool:
        """A folder entry to look at: symlinks that leave the tree are refused (one line), loops skipped."""
        if not entry.is_symlink():
            return True
        if self.tree is not None and not trust.is_inside(entry, self.tree):
            self.errors.append(DoctestError(f"symlink {trust.OUTSIDE}; skipped", display))
            return False
        if not entry.exists():  # dangling, or a loop
            self.notes.append(f"skipped {display}: a symlink that leads nowhere (dangling or a loop)")
            return False
        return True

    def _doc_inside(self, doc: Path, sidecar: Sidecar, root: Path | None = None) -> bool:
        """A sidecar's `doc:` must stay in its tree: the argument's tree, or the set's source."""
        root = root or self.tree
        if root is None or trust.is_inside(doc, root):
            return True
        self.errors.append(DoctestError(f"doc {(sidecar.doc or doc.name)[:200]!r} {trust.OUTSIDE}", sidecar.display,
                                        sidecar.doc_line or None))
        return False

    def _emit_with_sidecars(self, doc: Path, display: str, pairs: list[tuple[Path, Sidecar]]) -> None:
        if not pairs:
            self._emit(DocTarget(doc, display))
        for sidecar_path, sidecar in pairs:
            self._emit(DocTarget(doc, display, sidecar_path, None, sidecar.display))

    # --- doc sets

    def _enter_set(self, folder: Path, display: str, named: bool = True) -> DocSet | None:
        if self.tree is not None and not trust.is_inside(folder / MANIFEST_NAME, self.tree):
            self.errors.append(DoctestError(f"doc-set manifest {trust.OUTSIDE}", _join(display, MANIFEST_NAME)))
            return None
        try:
            docset = load_manifest(folder / MANIFEST_NAME, display)
        except DoctestError as exc:
            self.errors.extend(flatten(exc))
            return None
        if docset.explicit and not named:
            self.notes.append(f"skipped doc set {docset.name} (explicit): {display}")
            return None
        try:
            resolve_source(docset, self.source, self.notes)
        except DoctestError as exc:
            self.errors.append(exc)
            return None
        self._sets_entered += 1
        return docset

    def add_set(self, folder: Path, display: str, *, named: bool) -> None:
        docset = self._enter_set(folder, display, named)
        if docset is None:
            return
        before = len(self.targets)
        with_sidecar: set[Path] = set()
        for sidecar_path in self._set_sidecar_files(docset.root):
            target = self._set_sidecar(docset, sidecar_path, emit=False)
            if target is not None:
                with_sidecar.add(target.doc_path.resolve())
                self._emit(target)
        assert docset.source_root is not None
        for pattern, line in docset.docs:
            # a match through a symlink that leaves the source is no match (checked before anything is read,
            # so the answer is the same whether a file out there exists); `**` never follows symlinked folders
            matches = sorted(p for p in docset.source_root.glob(pattern)
                             if trust.is_inside(p, docset.source_root) and p.is_file())
            if not matches:
                self.errors.append(DoctestError(f"docs glob {excerpt(pattern)} matches no file in {docset.source_desc}",
                                                docset.manifest_display, line))
            for doc in matches:
                if doc.resolve() not in with_sidecar:
                    self._emit(DocTarget(doc, os.path.relpath(doc, docset.source_root), None, docset))
        # a set's docs in path order, whichever way they were named
        self.targets[before:] = sorted(self.targets[before:], key=lambda t: t.display)

    @staticmethod
    def _set_sidecar_files(root: Path) -> list[Path]:
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d)
                                 and not (Path(dirpath, d, MANIFEST_NAME)).is_file())  # sets do not nest
            found += [Path(dirpath, f) for f in sorted(filenames) if f.endswith(SIDECAR_SUFFIX)]
        return sorted(found)

    def _set_sidecar(self, docset: DocSet, sidecar_path: Path, *, emit: bool = True) -> DocTarget | None:
        rel = os.path.relpath(sidecar_path, docset.root)
        sidecar = self.sidecar(sidecar_path, _join(docset.display, rel), root=docset.root)
        if sidecar is None:
            return None
        assert docset.source_root is not None
        doc_rel = sidecar.doc or rel[: -len(SIDECAR_SUFFIX)] + ".md"
        doc = docset.source_root / doc_rel
        if not self._doc_inside(doc, sidecar, docset.source_root):
            return None
        if not doc.is_file():
            how = "" if sidecar.doc else " (no doc: key, so the sidecar's own path was used)"
            self.errors.append(DoctestError(f"doc {doc_rel} not found in {docset.source_desc}{how}",
                                            sidecar.display, sidecar.doc_line or None))
            return None
        target = DocTarget(doc, os.path.normpath(doc_rel), sidecar_path, docset, sidecar.display)
        if emit:
            self._emit(target)
        return target


def run_discovery(args: list[str], source: str | os.PathLike[str] | None = None) -> Discovery:
    """Discover every argument; errors and notes are collected, never raised (except a bad --source)."""
    override = None
    if source is not None:
        override = Path(source).absolute()
        if not override.is_dir():
            raise DoctestError("--source must be an existing folder", str(source))
    found = Discovery(source=override)
    for arg in args:
        found.add(str(arg))
    if override is not None and found._sets_entered == 0:
        found.notes.append(f"--source {source} ignored: no doc set among the arguments")
    return found


def discover(args: list[str], source: str | os.PathLike[str] | None = None, *,
             errors: list[DoctestError] | None = None, notes: list[str] | None = None) -> list[DocTarget]:
    """The docs named by `args` in order. Errors go to `errors` if given, else the first one is raised."""
    found = run_discovery(args, source)
    if notes is not None:
        notes.extend(found.notes)
    if errors is not None:
        errors.extend(found.errors)
    elif found.errors:
        raise found.errors[0]
    return found.targets
