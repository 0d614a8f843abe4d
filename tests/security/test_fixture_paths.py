"""Issue 11, item 4 (fixtures): `fixtures: - src:` never copies a host file into the guest.

`../../../../etc/shadow`, absolute paths and symlinks that leave the docs tree are refused with one line at the
fixture's line, and the line is the same whether the outside file exists or not; the outside file is never
opened (seen by an audit hook in the CLI process). A fixture folder holding a symlink out is refused too.
In a doc set, fixtures stay in the set's own folder.
"""

from __future__ import annotations

from untrusted import put, run_cli

OUTSIDE = "is outside the docs tree (absolute paths, '..' and symlinks that leave it are refused)"

SOURCES = [
    "../../../../../../../../etc/shadow",
    "../host/secret.txt",
    "../host/missing.txt",  # same answer as the existing one: no existence oracle
    "{outside}/secret.txt",
    "{outside}/missing.txt",
    "/etc/passwd",
    "link/secret.txt",
    "link/missing.txt",
    "slash/etc/passwd",  # a symlink to /
    "data/../../host/secret.txt",
]


def test_fixture_sources_that_leave_the_tree_are_refused_alike(docs, outside):
    (docs / "link").symlink_to(outside)
    (docs / "slash").symlink_to("/")
    put(docs, "data/ok.json", "{}\n")
    names = []
    for i, src in enumerate(SOURCES):
        put(docs, f"g{i}.md", (docs / "guide.md").read_text())
        put(docs, f"g{i}.doctest.yaml", f"""\
            vars: {{A: b}}
            fixtures:
              - src: data/ok.json
                dest: /tmp/ok.json
              - src: {src.format(outside=outside)}
                dest: /tmp/x
            """)
        names.append(f"g{i}.md")
    result = run_cli("list", *names, cwd=docs)
    assert "Traceback" not in result.err and result.code == 2
    assert result.err_lines == [f"g{i}.doctest.yaml:5: fixture {src.format(outside=outside)!r} {OUTSIDE}"
                                for i, src in enumerate(SOURCES)]
    assert not result.touched(outside)
    assert not any(p.startswith("/etc/") for p in result.opened() if "shadow" in p or "passwd" in p)


def test_a_fixture_folder_with_a_symlink_out_is_refused(docs, outside):
    put(docs, "fx/a/ok.txt", "fine\n")
    (docs / "fx/a/leak").symlink_to(outside / "secret.txt")
    put(docs, "fy/ok.txt", "fine\n")
    (docs / "fy/loop").symlink_to(".")  # a folder link: copying it would never end
    put(docs, "guide.doctest.yaml", """\
        fixtures:
          - src: fx
            dest: /tmp/fx
          - src: fy
            dest: /tmp/fy
        """)
    result = run_cli("list", "guide.md", cwd=docs)
    assert "Traceback" not in result.err and result.code == 2
    assert result.err_lines == [
        "guide.doctest.yaml:2: fixture 'fx' holds a symlink that leaves the docs tree or links a folder "
        "(or more than 10000 files)",
        "guide.doctest.yaml:4: fixture 'fy' holds a symlink that leaves the docs tree or links a folder "
        "(or more than 10000 files)",
    ]
    assert not result.touched(outside)


def test_fixtures_inside_the_tree_still_work(docs):
    put(docs, "data/pod.json", "{}\n")
    put(docs, "data/dir/a.txt", "a\n")
    (docs / "data/alias.json").symlink_to("pod.json")  # a link that stays inside is fine
    put(docs, "guide.doctest.yaml", """\
        fixtures:
          - src: data/pod.json
            dest: /home/user/pod.json
          - src: data/alias.json
            dest: /tmp/alias.json
          - src: data/dir
            dest: /tmp/dir
        """)
    result = run_cli("list", "--json", "guide.md", cwd=docs)
    assert result.code == 0, result.err
    assert result.touched(docs / "guide.md")  # the audit hook does see what is read


def test_a_doc_set_fixture_stays_in_the_set_folder(docs, outside):
    """The set's folder holds its fixtures; the rest of the repository (and the host) is out of reach."""
    put(docs, "set/doctest-set.yaml", "source: {path: ..}\n")
    put(docs, "set/fixtures/ok.json", "{}\n")
    put(docs, "set/guide.doctest.yaml", """\
        fixtures:
          - src: fixtures/ok.json
            dest: /tmp/ok.json
          - src: ../guide.md
            dest: /tmp/guide.md
          - src: ../../host/secret.txt
            dest: /tmp/secret
        """)
    result = run_cli("list", "set", cwd=docs)
    assert "Traceback" not in result.err
    assert result.err_lines == [f"set/guide.doctest.yaml:4: fixture '../guide.md' {OUTSIDE}",
                                f"set/guide.doctest.yaml:6: fixture '../../host/secret.txt' {OUTSIDE}"]
    assert not result.touched(outside)
