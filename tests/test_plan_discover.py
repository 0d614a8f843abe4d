"""Discovery: files, folders, side-by-side sidecars, doc sets (path and git sources, explicit, --source)."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from doctest_runner.model import DoctestError
from doctest_runner.plan import discover


def put(root: Path, rel: str, text: str = "# Doc\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run from tmp_path so display paths are short and relative, as a user would type them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path / "cache"))
    return tmp_path


def shown(targets):
    return [(t.display, t.sidecar_display) for t in targets]


def run_discover(args, source=None):
    errors: list[DoctestError] = []
    notes: list[str] = []
    targets = discover(args, source, errors=errors, notes=notes)
    return targets, [str(e) for e in errors], notes


def test_folder_walk_is_sorted_recursive_and_skips_hidden(in_tmp):
    for rel in ["docs/b.md", "docs/a.md", "docs/sub/c.md", "docs/.hidden/x.md", "docs/.y.md",
                "docs/notes.txt", "docs/sub/deeper/d.md", "docs/Z.md"]:
        put(in_tmp, rel)
    targets, errors, _ = run_discover(["docs"])
    assert [t.display for t in targets] == ["docs/Z.md", "docs/a.md", "docs/b.md", "docs/sub/c.md",
                                            "docs/sub/deeper/d.md"]
    assert errors == []
    assert all(t.sidecar is None and t.docset is None for t in targets)
    assert targets[1].doc_path == Path("docs/a.md")
    targets, _, _ = run_discover(["./docs/"])  # displays are normalised
    assert targets[0].display == "docs/Z.md"


def test_missing_path_is_one_error_and_the_rest_goes_on(in_tmp):
    put(in_tmp, "a.md")
    put(in_tmp, "dir/b.md")
    targets, errors, _ = run_discover(["a.md", "nope.md", "dir", "gone/"])
    assert [t.display for t in targets] == ["a.md", "dir/b.md"]
    assert errors == ["nope.md: no such file or directory", "gone/: no such file or directory"]
    with pytest.raises(DoctestError, match="no such file"):
        discover(["nope.md"])  # without an errors list the first error is raised


def test_a_doc_named_twice_is_planned_once(in_tmp):
    put(in_tmp, "d/a.md")
    targets, _, _ = run_discover(["d", "d/a.md", "./d/a.md"])
    assert [t.display for t in targets] == ["d/a.md"]


def test_side_by_side_sidecar(in_tmp):
    put(in_tmp, "g/guide.md")
    put(in_tmp, "g/guide.doctest.yaml", "image: fedora-40\n")
    put(in_tmp, "g/other.md")
    put(in_tmp, "g/extra.doctest.yaml", "doc: other.md\n")  # names its doc explicitly
    put(in_tmp, "g/third.md")
    targets, errors, _ = run_discover(["g"])
    assert errors == []
    assert shown(targets) == [("g/guide.md", "g/guide.doctest.yaml"), ("g/other.md", "g/extra.doctest.yaml"),
                              ("g/third.md", None)]
    # a doc named directly finds its sidecar too (by stem, or a sibling whose doc: names it)
    targets, errors, _ = run_discover(["g/guide.md", "g/other.md", "g/third.md"])
    assert shown(targets) == [("g/guide.md", "g/guide.doctest.yaml"), ("g/other.md", "g/extra.doctest.yaml"),
                              ("g/third.md", None)]
    assert targets[0].sidecar == Path("g/guide.doctest.yaml")
    # a sidecar named directly plans its doc
    targets, errors, _ = run_discover(["g/extra.doctest.yaml"])
    assert shown(targets) == [("g/other.md", "g/extra.doctest.yaml")]


def test_broken_side_by_side_sidecar_blocks_only_its_doc(in_tmp):
    put(in_tmp, "g/a.md")
    put(in_tmp, "g/a.doctest.yaml", "steps:\n  - line: 1\n    skip: yes please\n")
    put(in_tmp, "g/b.md")
    put(in_tmp, "g/lost.doctest.yaml", "doc: missing.md\n")
    targets, errors, _ = run_discover(["g"])
    assert [t.display for t in targets] == ["g/b.md"]
    assert errors == ["g/a.doctest.yaml:3: skip must be true or false, not a string",
                      "g/lost.doctest.yaml:1: doc g/missing.md not found"]
    # naming a doc directly reports only its own sidecar's problems
    targets, errors, _ = run_discover(["g/b.md"])
    assert [t.display for t in targets] == ["g/b.md"] and errors == []
    targets, errors, _ = run_discover(["g/a.md"])
    assert targets == [] and errors == ["g/a.doctest.yaml:3: skip must be true or false, not a string"]


def make_set(root: Path, name="kata", *, source="source:\n  path: ../../upstream\n", extra=""):
    put(root, f"sets/{name}/doctest-set.yaml", f"name: {name}\nimage: ubuntu-24.04\n{source}{extra}")
    return root / "sets" / name


def make_upstream(root: Path, where="upstream"):
    for rel in ["docs/install.md", "docs/how-to/crictl.md", "docs/how-to/docker.md", "docs/README.md",
                "utils/README.md"]:
        put(root, f"{where}/{rel}", f"# {rel}\n")


def test_doc_set_with_path_source(in_tmp):
    make_upstream(in_tmp)
    make_set(in_tmp, extra="docs:\n  - docs/how-to/*.md\n")
    put(in_tmp, "sets/kata/install.doctest.yaml", "doc: docs/install.md\n")
    put(in_tmp, "sets/kata/docs/how-to/crictl.doctest.yaml", "vars: {ARCH: amd64}\n")  # doc from its own path
    put(in_tmp, "sets/kata/README.md", "# about this set: not a doc under test\n")
    targets, errors, notes = run_discover(["sets/kata"])
    assert errors == [] and notes == []
    assert shown(targets) == [
        ("docs/how-to/crictl.md", "sets/kata/docs/how-to/crictl.doctest.yaml"),
        ("docs/how-to/docker.md", None),
        ("docs/install.md", "sets/kata/install.doctest.yaml"),
    ]
    docset = targets[0].docset
    assert docset is not None and docset.name == "kata" and docset.image == "ubuntu-24.04"
    assert docset.source_root == (in_tmp / "upstream").resolve()
    assert targets[2].doc_path.resolve() == (in_tmp / "upstream/docs/install.md").resolve()
    # naming the manifest file is naming the set
    targets2, _, _ = run_discover(["sets/kata/doctest-set.yaml"])
    assert shown(targets2) == shown(targets)
    # a sidecar inside the set, named directly
    targets3, errors3, _ = run_discover(["sets/kata/install.doctest.yaml"])
    assert shown(targets3) == [("docs/install.md", "sets/kata/install.doctest.yaml")] and errors3 == []


def test_doc_set_found_while_walking_a_parent(in_tmp):
    make_upstream(in_tmp)
    make_set(in_tmp, extra="docs: [utils/README.md]\n")
    make_set(in_tmp, "private", extra="explicit: true\ndocs: [docs/README.md]\n")
    put(in_tmp, "sets/loose.md")
    targets, errors, notes = run_discover(["sets"])
    assert errors == []
    assert [t.display for t in targets] == ["utils/README.md", "sets/loose.md"]
    assert notes == ["skipped doc set private (explicit): sets/private"]
    # named directly, an explicit set is entered
    targets, errors, notes = run_discover(["sets/private"])
    assert [t.display for t in targets] == ["docs/README.md"] and notes == []


def test_sets_do_not_nest(in_tmp):
    make_upstream(in_tmp)
    make_set(in_tmp)
    put(in_tmp, "sets/kata/inner/doctest-set.yaml", "source: {path: ../../../upstream}\n")
    put(in_tmp, "sets/kata/inner/install.doctest.yaml", "doc: docs/install.md\n")
    put(in_tmp, "sets/kata/crictl.doctest.yaml", "doc: docs/how-to/crictl.md\n")
    targets, errors, _ = run_discover(["sets/kata"])
    assert shown(targets) == [("docs/how-to/crictl.md", "sets/kata/crictl.doctest.yaml")] and errors == []


def test_source_override(in_tmp):
    make_upstream(in_tmp, "checkout")
    make_set(in_tmp, source="source:\n  git: https://example.invalid/kata.git\n  ref: main\n")
    put(in_tmp, "sets/kata/install.doctest.yaml", "doc: docs/install.md\n")
    targets, errors, notes = run_discover(["sets/kata"], source="checkout")
    assert errors == [] and notes == []
    assert shown(targets) == [("docs/install.md", "sets/kata/install.doctest.yaml")]
    assert targets[0].doc_path.resolve() == (in_tmp / "checkout/docs/install.md").resolve()
    assert targets[0].docset.source_desc.startswith("--source ")
    with pytest.raises(DoctestError, match="--source must be an existing folder"):
        discover(["sets/kata"], source="no-such-dir")
    put(in_tmp, "plain/a.md")
    _, _, notes = run_discover(["plain"], source="checkout")
    assert notes == ["--source checkout ignored: no doc set among the arguments"]


def test_doc_set_errors_point_at_manifest_and_sidecar_lines(in_tmp):
    make_upstream(in_tmp)
    make_set(in_tmp, extra="docs:\n  - docs/*.rst\n")
    put(in_tmp, "sets/kata/a.doctest.yaml", "image: debian-12\ndoc: docs/nope.md\n")
    put(in_tmp, "sets/kata/b.doctest.yaml", "doc: docs/install.md\nstesp: []\n")
    put(in_tmp, "sets/kata/docs/ghost.doctest.yaml", "")
    put(in_tmp, "sets/kata/docs/how-to/docker.doctest.yaml", "")
    targets, errors, _ = run_discover(["sets/kata"])
    assert [t.display for t in targets] == ["docs/how-to/docker.md"]
    root = (in_tmp / "upstream").resolve()
    assert errors == [
        f"sets/kata/a.doctest.yaml:2: doc docs/nope.md not found in path {root}",
        "sets/kata/b.doctest.yaml:2: unknown key 'stesp' in sidecar; did you mean 'steps'?",
        (f"sets/kata/docs/ghost.doctest.yaml: doc docs/ghost.md not found in path {root} "
        "(no doc: key, so the sidecar's own path was used)"),
        f"sets/kata/doctest-set.yaml:6: docs glob 'docs/*.rst' matches no file in path {root}",
    ]


@pytest.mark.parametrize("manifest, line, message", [
    ("name: x\nsorce: {path: .}\n", 2, "unknown key 'sorce' in a doc-set manifest; did you mean 'source'?"),
    ("source: {path: ., git: x}\n", 1, "exactly one of path"),
    ("source:\n  path: .\n  ref: main\n", 3, "unknown key 'ref' in source"),
    ("source: {path: ../missing}\n", 1, "does not exist"),
    ("explicit: sometimes\n", 1, "explicit must be true or false"),
    ("docs: ['../outside/*.md']\n", 1, "must stay inside the source"),
    ("name: [x\n", 2, "invalid YAML"),
])
def test_bad_manifests(in_tmp, manifest, line, message):
    put(in_tmp, "set/doctest-set.yaml", manifest)
    put(in_tmp, "other.md")
    targets, errors, _ = run_discover(["set", "other.md"])
    assert [t.display for t in targets] == ["other.md"]
    assert len(errors) == 1 and errors[0].startswith(f"set/doctest-set.yaml:{line}: ") and message in errors[0]


# --- git sources ---------------------------------------------------------------------------------

GIT_ID = ["-c", "user.name=doctest", "-c", "user.email=doctest@example.invalid", "-c", "init.defaultBranch=main"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def bare_repo(tmp_path):
    """A local bare repository with docs on `main` and a tag, like an upstream project."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q")
    put(work, "docs/install.md", "# Install v1\n")
    put(work, "docs/how-to/x.md", "# X\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "v1")
    git(work, "tag", "v1")
    bare = tmp_path / "upstream.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return work, bare


def test_git_source_is_cloned_into_the_cache_and_updated(in_tmp, bare_repo):
    work, bare = bare_repo
    make_set(in_tmp, source=f"source:\n  git: {bare}\n  ref: main\n")
    put(in_tmp, "sets/kata/install.doctest.yaml", "doc: docs/install.md\n")
    targets, errors, notes = run_discover(["sets/kata"])
    assert errors == [] and notes == []
    (target,) = targets
    cache = in_tmp / "cache" / "sources"
    assert target.doc_path.is_file() and cache in target.doc_path.parents
    assert target.doc_path.read_text() == "# Install v1\n"
    assert target.display == "docs/install.md"
    assert target.docset.source_desc == f"git {bare} @ main"
    # shallow: only the one commit
    assert git(target.docset.source_root, "rev-list", "--count", "HEAD") == "1"
    # upstream moves on: the next discovery fetches it
    put(work, "docs/install.md", "# Install v2\n")
    git(work, "commit", "-q", "-am", "v2")
    git(work, "push", "-q", str(bare), "main")
    targets, errors, notes = run_discover(["sets/kata"])
    assert errors == [] and targets[0].doc_path.read_text() == "# Install v2\n"
    # upstream gone (offline): the cached checkout is used, with a note
    bare.rename(bare.with_name("moved.git"))
    targets, errors, notes = run_discover(["sets/kata"])
    assert errors == [] and targets[0].doc_path.read_text() == "# Install v2\n"
    assert len(notes) == 1 and notes[0].startswith(f"could not update {bare} @ main")


def test_git_source_by_tag_commit_and_relative_path(in_tmp, bare_repo):
    work, bare = bare_repo
    v1 = git(work, "rev-parse", "HEAD")
    put(work, "docs/install.md", "# Install v2\n")
    git(work, "commit", "-q", "-am", "v2")
    git(work, "push", "-q", str(bare), "main")
    rel = os.path.relpath(bare, in_tmp / "sets" / "tagged")
    make_set(in_tmp, "tagged", source=f"source:\n  git: {rel}\n  ref: v1\n", extra="docs: [docs/install.md]\n")
    make_set(in_tmp, "pinned", source=f"source:\n  git: {bare}\n  ref: {v1}\n", extra="docs: ['docs/**/*.md']\n")
    targets, errors, _ = run_discover(["sets/tagged", "sets/pinned"])
    assert errors == []
    assert [(t.docset.name, t.display, t.doc_path.read_text()) for t in targets] == [
        ("tagged", "docs/install.md", "# Install v1\n"),
        ("pinned", "docs/how-to/x.md", "# X\n"),
        ("pinned", "docs/install.md", "# Install v1\n"),
    ]


def test_git_source_that_cannot_be_fetched_is_an_error_at_the_source_line(in_tmp, bare_repo):
    _, bare = bare_repo
    make_set(in_tmp, source=f"source:\n  git: {bare}\n  ref: no-such-branch\n")
    put(in_tmp, "ok.md")
    targets, errors, _ = run_discover(["sets/kata", "ok.md"])
    assert [t.display for t in targets] == ["ok.md"]
    assert len(errors) == 1
    assert errors[0].startswith(f"sets/kata/doctest-set.yaml:3: cannot fetch {bare} @ no-such-branch: ")
    assert not any(p.name.startswith(".") or "tmp" in p.name for p in (in_tmp / "cache" / "sources").iterdir())
