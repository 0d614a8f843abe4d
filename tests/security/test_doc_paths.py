"""Issue 11, item 4 (docs): `doc:`, doc-set sources and globs, and symlinks in a docs tree never reach outside it.

A sidecar's `doc: ../outside.md`, a manifest's `source: {path: /}`, a `docs:` glob through a symlink, a symlinked
sidecar or doc, and a symlink to `/` or a loop in a walked folder: each is one line (or, for a glob, simply no
match) that reads the same whether the outside file exists, never a traceback, and the outside file is never
opened (audit hook in the CLI process).
"""

from __future__ import annotations

from untrusted import put, run_cli

OUTSIDE = "is outside the docs tree (absolute paths, '..' and symlinks that leave it are refused)"


def test_sidecar_doc_outside_the_tree_is_refused_alike(docs, outside):
    (docs / "link").symlink_to(outside)
    cases = ["../host/secret.md", "../host/missing.md", f"{outside}/secret.md", "link/secret.md", "link/missing.md"]
    for i, doc in enumerate(cases):
        put(docs, f"s{i}.doctest.yaml", f"vars: {{A: b}}\ndoc: {doc}\n")
    names = [f"s{i}.doctest.yaml" for i in range(len(cases))]
    result = run_cli("list", *names, cwd=docs)
    assert "Traceback" not in result.err and result.code == 2
    assert result.err_lines == [f"s{i}.doctest.yaml:2: doc {doc!r} {OUTSIDE}" for i, doc in enumerate(cases)]
    assert not result.touched(outside)
    # walking the folder says the same (the link itself is refused as a folder entry too)
    result = run_cli("list", ".", cwd=docs)
    assert "Traceback" not in result.err and "# guide.md" in result.out
    assert "link: symlink " + OUTSIDE + "; skipped" in result.err_lines
    assert sum(f"doc {doc!r} {OUTSIDE}" in line for line in result.err_lines for doc in cases) == len(cases)
    assert not result.touched(outside)


def test_symlink_to_root_and_loops_in_a_docs_tree(docs, outside):
    (docs / "slash").symlink_to("/")
    (docs / "self").symlink_to("self")  # a loop
    (docs / "sub").mkdir()
    (docs / "sub/up").symlink_to("..")  # a folder loop inside the tree
    (docs / "leak.md").symlink_to(outside / "secret.md")
    (docs / "gone.md").symlink_to(outside / "missing.md")
    (docs / "leak.doctest.yaml").symlink_to(outside / "secret.txt")
    result = run_cli("list", ".", cwd=docs, timeout=60)
    assert "Traceback" not in result.err
    assert result.code == 1
    assert "# guide.md" in result.out and "secret" not in result.out
    errors = [line for line in result.err_lines if "note:" not in line]
    assert sorted(errors) == sorted([
        f"gone.md: symlink {OUTSIDE}; skipped",
        f"leak.doctest.yaml: symlink {OUTSIDE}; skipped",
        f"leak.md: symlink {OUTSIDE}; skipped",
        f"slash: symlink {OUTSIDE}; skipped",
    ])
    assert "doctest-runner: note: skipped self: a symlink that leads nowhere (dangling or a loop)" in result.err_lines
    assert not result.touched(outside) and not result.touched("/etc")


def test_a_symlinked_sidecar_or_doc_named_directly_is_not_read(docs, outside):
    (docs / "evil.doctest.yaml").symlink_to(outside / "secret.txt")
    (docs / "evil.md").symlink_to(outside / "secret.md")
    result = run_cli("list", "evil.doctest.yaml", "evil.md", cwd=docs)
    assert "Traceback" not in result.err and result.code == 2
    assert result.err_lines == [f"evil.doctest.yaml: symlink {OUTSIDE}", f"evil.md: symlink {OUTSIDE}"]
    assert not result.touched(outside)


def test_doc_set_doc_and_source_stay_inside(docs, outside):
    put(docs, "src/docs/install.md", (docs / "guide.md").read_text())
    put(docs, "a/doctest-set.yaml", "source: {path: ../src}\n")
    put(docs, "a/x.doctest.yaml", "vars: {A: b}\ndoc: ../../host/secret.md\n")
    put(docs, "a/y.doctest.yaml", "vars: {A: b}\ndoc: ../../host/missing.md\n")
    put(docs, "a/z.doctest.yaml", "vars: {A: b}\ndoc: docs/install.md\n")
    put(docs, "b/doctest-set.yaml", "source: {path: /}\ndocs: ['etc/*.md']\n")
    put(docs, "c/doctest-set.yaml", "source: {path: ../..}\ndocs: ['host/*.md']\n")
    result = run_cli("list", "a", "b", "c", cwd=docs)
    assert "Traceback" not in result.err and result.code == 1
    assert "# docs/install.md" in result.out
    assert result.err_lines == [
        f"a/x.doctest.yaml:2: doc '../../host/secret.md' {OUTSIDE}",
        f"a/y.doctest.yaml:2: doc '../../host/missing.md' {OUTSIDE}",
        f"b/doctest-set.yaml:1: source path '/' {OUTSIDE}",
        f"c/doctest-set.yaml:1: source path '../..' {OUTSIDE}",
    ]
    assert not result.touched(outside) and not result.touched("/etc")


def test_a_docs_glob_through_a_symlink_matches_nothing_whether_the_file_exists(docs, outside):
    put(docs, "src/docs/install.md", (docs / "guide.md").read_text())
    (docs / "src/out").symlink_to(outside)
    put(docs, "set/doctest-set.yaml", "source: {path: ../src}\ndocs:\n  - out/secret.md\n  - out/missing.md\n"
                                      "  - out/*.md\n  - docs/*.md\n")
    result = run_cli("list", "set", cwd=docs)
    assert "Traceback" not in result.err and result.code == 1
    assert "# docs/install.md" in result.out and "secret" not in result.out
    src = (docs / "src").resolve()
    assert result.err_lines == [
        f"set/doctest-set.yaml:{n}: docs glob {glob!r} matches no file in path {src}"
        for n, glob in ((3, "out/secret.md"), (4, "out/missing.md"), (5, "out/*.md"))
    ]
    assert not any(p.endswith("secret.md") for p in result.opened())
