"""Doc sets: a folder with `doctest-set.yaml` naming where the docs come from, plus sidecars.

The docs under test usually live in another repository (Kata's); a set keeps
the harness's knowledge about them (sidecars, fixtures, checks) in this one and
says where to get the docs: a local folder, or a git URL and ref cloned into
the cache. `--source DIR` points a set at a local checkout instead.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from doctest_runner import trust
from doctest_runner.model import DoctestError
from doctest_runner.paths import cache_root
from doctest_runner.plan.yamlnodes import YNode, compose, excerpt, flatten, raise_all, unknown_key

MANIFEST_NAME = "doctest-set.yaml"
MANIFEST_KEYS = ("name", "source", "image", "explicit", "docs")
GIT_TIMEOUT_S = 600


@dataclass
class DocSet:
    """A loaded manifest; `source_root` is filled in when the set is entered (see `resolve_source`)."""

    name: str
    manifest: Path  # absolute
    root: Path  # the set's folder, absolute
    display: str  # the set's folder as the user reached it
    image: str | None = None
    explicit: bool = False
    source_path: Path | None = None  # `source: {path: ...}`, resolved against the manifest
    git_url: str | None = None
    git_ref: str = "HEAD"
    git_local: bool = False  # `git:` names a local repository (a folder in the docs repo)
    source_line: int = 0
    docs: list[tuple[str, int]] = field(default_factory=list)  # (glob, manifest line)
    source_root: Path | None = None
    source_desc: str = ""

    @property
    def manifest_display(self) -> str:
        return os.path.normpath(os.path.join(self.display, MANIFEST_NAME))


def load_manifest(manifest: Path, display: str) -> DocSet:
    """Read and validate `doctest-set.yaml` (no fetching yet: an explicit set may not be entered)."""
    manifest = manifest.absolute()
    shown = os.path.normpath(os.path.join(display, MANIFEST_NAME))
    try:
        text = manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DoctestError(f"cannot read doc-set manifest: {exc}", shown) from None
    docset = DocSet(name=manifest.parent.name, manifest=manifest, root=manifest.parent, display=display)
    root = compose(text, shown)
    if root is None:
        return docset  # empty manifest: the docs sit in the set's own folder
    errors: list[DoctestError] = []
    for key, line, value in root.items("a doc-set manifest"):
        try:
            if key == "name":
                docset.name = value.text("name", allow_numbers=True)
            elif key == "image":
                docset.image = value.text("image")
                problem = trust.image_name_problem(docset.image)
                if problem:
                    raise value.error(problem)
            elif key == "explicit":
                docset.explicit = value.flag("explicit")
            elif key == "docs":
                for item in value.seq("docs"):
                    pattern = item.text("docs glob")
                    if os.path.isabs(pattern) or ".." in Path(pattern).parts:
                        raise item.error(
                            f"docs glob {excerpt(pattern)} must stay inside the source (relative, no '..')")
                    docset.docs.append((pattern, item.line))
            elif key == "source":
                _load_source(docset, value, line)
            else:
                errors.append(unknown_key(key, line, shown, "a doc-set manifest", MANIFEST_KEYS))
        except DoctestError as exc:
            errors.extend(flatten(exc))
    raise_all(errors)
    return docset


def _load_source(docset: DocSet, node: YNode, line: int) -> None:
    docset.source_line = line
    entries = node.items("source")
    keys = {k for k, _, _ in entries}
    if ("path" in keys) == ("git" in keys):
        raise node.error("source needs exactly one of path: DIR or git: URL (with ref: REF)")
    for key, kline, value in entries:
        if key == "path":
            docset.source_path = _local_folder(docset, value.text("source path"), value, "source path")
        elif key == "git":
            url = value.text("git")
            if trust.is_remote_url(url):
                problem = trust.git_url_problem(url)
                if problem:
                    raise value.error(problem)
            else:  # a local repository, relative to the manifest: an existing folder inside the docs repo
                url = str(_local_folder(docset, url, value, "git path"))
                docset.git_local = True
            docset.git_url = url
        elif key == "ref" and "git" in keys:
            ref = value.text("ref", allow_numbers=True)
            problem = trust.git_ref_problem(ref)
            if problem:
                raise value.error(problem)
            docset.git_ref = ref
        else:
            allowed = ("git", "ref") if "git" in keys else ("path",)
            raise unknown_key(key, kline, node.path, "source", allowed)


def _local_folder(docset: DocSet, written: str, node: YNode, what: str) -> Path:
    """A local source folder, relative to the manifest; it must stay inside the docs repo (`trust.docs_root`).
    A folder elsewhere on the host is the operator's choice: `--source DIR`."""
    target = docset.root / written  # an absolute path stays absolute, and must be inside the repo too
    if "\x00" in written or not trust.is_inside(target, trust.docs_root(docset.root)):
        raise node.error(f"{what} {written[:200]!r} {trust.OUTSIDE}")
    return Path(os.path.realpath(target))


def resolve_source(docset: DocSet, override: Path | None, notes: list[str]) -> Path:
    """Fix the folder the set's docs are read from: the override, the path, or a (cached) git checkout."""
    if override is not None:
        docset.source_root, docset.source_desc = override, f"--source {override}"
    elif docset.git_url is not None:
        docset.source_root = fetch_git(docset.git_url, docset.git_ref, notes,
                                       where=(docset.manifest_display, docset.source_line))
        docset.source_desc = f"git {docset.git_url} @ {docset.git_ref}"
    else:
        docset.source_root = docset.source_path or docset.root
        docset.source_desc = f"path {docset.source_root}"
        if not docset.source_root.is_dir():
            raise DoctestError(f"source folder {docset.source_root} does not exist (use --source DIR to point "
                               f"at a checkout)", docset.manifest_display, docset.source_line or None)
    return docset.source_root


def _git(args: list[str], cwd: Path | None = None, *, local: bool = False) -> subprocess.CompletedProcess[str]:
    """git with only the allowed transports (no `ext::`), no hooks and no fsmonitor: see doctest_runner/trust.py."""
    return subprocess.run(["git", *trust.GIT_SAFE_CONFIG, *args], cwd=cwd, env=trust.git_env(local),
                          capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def fetch_git(url: str, ref: str, notes: list[str], *, where: tuple[str, int] = ("", 0)) -> Path:
    """A shallow checkout of `ref` of `url` in the cache; refreshed each time, reused when offline.

    `git init` + `git fetch --depth 1 URL REF` works for branches, tags and (on
    servers that allow it) commit ids alike, which `git clone --branch` does not.
    """
    path, line = where
    local = not trust.is_remote_url(url)
    problem = trust.git_ref_problem(ref) or (None if local else trust.git_url_problem(url))
    if problem or (local and not os.path.isabs(url)):  # load_manifest refuses these already; never reach git
        raise DoctestError(problem or "git path must be absolute here", path, line or None)
    dest = cache_root() / "sources" / hashlib.sha256(f"{url}\0{ref}".encode()).hexdigest()[:16]
    if shutil.which("git") is None:
        raise DoctestError("git is not installed (needed to fetch the doc set's source)", path, line or None)
    if (dest / ".git").is_dir():
        head = _git(["rev-parse", "HEAD"], cwd=dest)
        if head.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", ref) and head.stdout.strip() == ref:
            return dest  # a pinned commit never changes
        try:
            fetched = _git(["fetch", "--quiet", "--depth", "1", "--", url, ref], cwd=dest, local=local)
            if fetched.returncode == 0:
                checked = _git(["checkout", "--quiet", "--force", "--detach", "FETCH_HEAD", "--"], cwd=dest)
                if checked.returncode == 0:
                    return dest
                fetched = checked
            reason = _last_line(fetched.stderr)
        except subprocess.TimeoutExpired:
            reason = "timed out"
        if head.returncode == 0:
            notes.append(f"could not update {url} @ {ref} ({reason}); using the cached checkout {dest}")
            return dest
        shutil.rmtree(dest, ignore_errors=True)
    tmp = dest.with_name(f"{dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for args in (["init", "--quiet"], ["fetch", "--quiet", "--depth", "1", "--", url, ref],
                     ["checkout", "--quiet", "--detach", "FETCH_HEAD", "--"]):
            done = _git(args, cwd=tmp, local=local)
            if done.returncode != 0:
                raise DoctestError(f"cannot fetch {url} @ {ref}: {_last_line(done.stderr)}", path, line or None)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    except subprocess.TimeoutExpired:
        raise DoctestError(f"cannot fetch {url} @ {ref}: git timed out after {GIT_TIMEOUT_S}s",
                           path, line or None) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
