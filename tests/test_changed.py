"""`list --changed REF` / `run --changed REF`: only the guides a change touches, in a real temporary git repo.

Each test commits a small docs repo, changes one kind of input (Markdown, sidecar, fixture, check module,
doc-set manifest, image recipe, an untracked file, a removed sidecar), and checks that exactly the guides
that read that input are listed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from doctest_runner.cli import main
from doctest_runner.plan.changed import ref_problem

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

GUIDE = """\
# {title}

Install it:

```console
$ echo {title}
```
"""

RECIPE = """\
kind: debootstrap
suite: bookworm
distro: debian
release: "12"
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                           "-c", "commit.gpgsign=false", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


def write(repo: Path, rel: str, text: str) -> None:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A committed docs repo: plain guides, guides with sidecars (fixture, check module, own image), a doc set
    whose docs live in `upstream/`, and image recipes (one extends another)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for name in ("plain", "other"):
        write(root, f"docs/{name}.md", GUIDE.format(title=name))
    write(root, "docs/side.md", GUIDE.format(title="side"))
    write(root, "docs/side.doctest.yaml", "vars:\n  V: '1'\n")
    write(root, "docs/fix.md", GUIDE.format(title="fix"))
    write(root, "docs/fix.doctest.yaml", "fixtures:\n  - src: data/conf\n    dest: /etc/conf\n"
                                         "  - src: data/one.json\n    dest: /tmp/one.json\n"
                                         "check_modules:\n  - test_fix.py\n")
    write(root, "docs/data/conf/a.txt", "a\n")
    write(root, "docs/data/one.json", "{}\n")
    write(root, "docs/test_fix.py", "def test_nothing():\n    pass\n")
    write(root, "docs/imaged.md", GUIDE.format(title="imaged"))
    write(root, "docs/imaged.doctest.yaml", "image: child\n")
    write(root, "docs/ghosted.md", GUIDE.format(title="ghosted"))
    write(root, "docs/ghosted.doctest.yaml", "image: ghost\n")  # no recipe for it (yet)
    write(root, "recipes/base.yaml", RECIPE)
    write(root, "recipes/child.yaml", "extends: base\nextra_packages: [jq]\n")
    write(root, "set/doctest-set.yaml", "name: up\nsource:\n  path: ../upstream\ndocs:\n  - guides/*.md\n")
    write(root, "set/guides/one.doctest.yaml", "vars:\n  X: '1'\n")
    write(root, "upstream/guides/one.md", GUIDE.format(title="one"))
    write(root, "upstream/guides/two.md", GUIDE.format(title="two"))
    commit(root, "docs")
    monkeypatch.chdir(root)
    monkeypatch.setenv("DOCTEST_RUNNER_RECIPES", str(root / "recipes"))
    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path / "cache"))
    return root


ALL = ["docs/fix.md", "docs/ghosted.md", "docs/imaged.md", "docs/other.md", "docs/plain.md", "docs/side.md",
       "guides/one.md", "guides/two.md"]


def listed(capsys, *args: str) -> tuple[int, list[str], str]:
    """Exit status, the docs listed (from their `# path  (...)` headers) and stderr."""
    code = main(["list", *args])
    out, err = capsys.readouterr()
    docs = [line[2:].split("  (")[0] for line in out.splitlines() if line.startswith("# ")]
    return code, docs, err


def test_without_changed_every_guide_is_listed(repo, capsys):
    code, docs, err = listed(capsys, "docs", "set")
    assert code == 0, err
    assert sorted(docs) == ALL


def test_the_last_commit_selects_exactly_the_guides_it_touched(repo, capsys):
    write(repo, "docs/plain.md", GUIDE.format(title="plain, changed"))
    write(repo, "docs/side.doctest.yaml", "vars:\n  V: '2'\n")  # the sidecar alone
    commit(repo, "plain and side's sidecar")
    code, docs, err = listed(capsys, "--changed", "HEAD~1", "docs", "set")
    assert code == 0, err
    assert docs == ["docs/plain.md", "docs/side.md"]
    assert "doctest-runner: note: --changed HEAD~1: docs/plain.md: the guide changed" in err.splitlines()
    assert ("doctest-runner: note: --changed HEAD~1: docs/side.md: its sidecar docs/side.doctest.yaml changed"
            in err.splitlines())


def test_nothing_changed_is_one_line_and_exit_0(repo, capsys):
    write(repo, "README.txt", "not a guide's input\n")
    commit(repo, "unrelated")
    code, docs, err = listed(capsys, "--changed", "HEAD~1", "docs", "set")
    assert code == 0
    assert docs == []
    assert err.splitlines() == [
        "doctest-runner: nothing to do: none of the 8 guides in docs set changed since HEAD~1 "
        "(Markdown, sidecars, fixtures, doc-set manifests, image recipes)"]


def test_nothing_changed_as_json_prints_an_empty_list(repo, capsys):
    code = main(["list", "--json", "--changed", "HEAD", "docs"])
    out, err = capsys.readouterr()
    assert (code, out) == (0, "[]\n")
    assert err.startswith("doctest-runner: nothing to do: none of the 6 guides in docs changed since HEAD ")


def test_a_manifest_change_selects_all_its_guides(repo, capsys):
    write(repo, "set/doctest-set.yaml", "name: up\nsource:\n  path: ../upstream\ndocs:\n  - guides/*.md\n"
                                        "image: debian-12\n")
    commit(repo, "manifest")
    code, docs, err = listed(capsys, "--changed", "HEAD~1", "docs", "set")
    assert code == 0, err
    assert docs == ["guides/one.md", "guides/two.md"]
    assert "guides/two.md: its doc-set manifest set/doctest-set.yaml changed" in err


def test_a_set_sidecar_or_a_source_doc_selects_only_its_guide(repo, capsys):
    write(repo, "set/guides/one.doctest.yaml", "vars:\n  X: '2'\n")
    write(repo, "upstream/guides/two.md", GUIDE.format(title="two, changed"))
    commit(repo, "set sidecar, upstream doc")
    _, docs, _ = listed(capsys, "--changed", "HEAD~1", "docs", "set")
    assert docs == ["guides/one.md", "guides/two.md"]
    write(repo, "upstream/guides/two.md", GUIDE.format(title="two, again"))
    commit(repo, "upstream doc only")
    _, docs, _ = listed(capsys, "--changed", "HEAD~1", "docs", "set")
    assert docs == ["guides/two.md"]


def test_a_base_recipe_change_selects_the_guides_on_images_that_extend_it(repo, capsys):
    write(repo, "recipes/base.yaml", RECIPE + "hostname: other\n")
    commit(repo, "recipe")
    code, docs, err = listed(capsys, "--changed", "HEAD~1", "docs", "set")
    assert code == 0, err
    assert docs == ["docs/imaged.md"]
    assert "docs/imaged.md: its image recipe recipes/base.yaml changed (image child)" in err


def test_a_recipe_added_for_an_image_without_one_selects_its_guides(repo, capsys):
    write(repo, "recipes/ghost.yaml", RECIPE)  # untracked: the work tree counts, not only commits
    _, docs, _ = listed(capsys, "--changed", "HEAD", "docs")
    assert docs == ["docs/ghosted.md"]


def test_the_image_given_on_the_command_line_is_the_one_compared(repo, capsys):
    write(repo, "recipes/child.yaml", "extends: base\nextra_packages: [jq, curl]\n")
    _, docs, _ = listed(capsys, "--changed", "HEAD", "--image", "child", "docs/plain.md", "docs/other.md")
    assert docs == ["docs/plain.md", "docs/other.md"]
    _, docs, _ = listed(capsys, "--changed", "HEAD", "--image", "base", "docs/plain.md", "docs/other.md")
    assert docs == []


def test_fixture_file_folder_and_check_module_changes_select_their_guide(repo, capsys):
    for rel in ("docs/data/conf/a.txt", "docs/data/one.json", "docs/test_fix.py"):
        write(repo, rel, "changed\n")  # uncommitted: compared with the work tree
        _, docs, err = listed(capsys, "--changed", "HEAD", "docs")
        assert docs == ["docs/fix.md"], rel
        git(repo, "checkout", "--", rel)
    write(repo, "docs/data/conf/new.txt", "new, untracked\n")
    _, docs, err = listed(capsys, "--changed", "HEAD", "docs")
    assert docs == ["docs/fix.md"]
    assert "docs/fix.md: its fixture docs/data/conf changed" in err


def test_untracked_guides_count_and_ignored_files_do_not(repo, capsys):
    write(repo, ".gitignore", "scratch/\n")
    write(repo, "docs/new.md", GUIDE.format(title="new"))
    write(repo, "docs/scratch/x.md", GUIDE.format(title="ignored"))
    _, docs, _ = listed(capsys, "--changed", "HEAD", "docs")
    assert docs == ["docs/new.md"]


def test_a_removed_sidecar_selects_the_guide_it_was_for(repo, capsys):
    (repo / "docs/side.doctest.yaml").unlink()
    (repo / "set/guides/one.doctest.yaml").unlink()
    commit(repo, "no sidecars")
    _, docs, err = listed(capsys, "--changed", "HEAD~1", "docs", "set")
    assert docs == ["docs/side.md", "guides/one.md"]
    assert "doctest-runner: note: --changed HEAD~1: docs/side.md: its sidecar docs/side.doctest.yaml was removed" in (
        err.splitlines())


def test_a_removed_sidecar_named_for_no_guide_selects_every_guide_it_may_have_been_for(repo, capsys):
    write(repo, "docs/extra.doctest.yaml", "doc: plain.md\nvars:\n  V: '1'\n")  # named for plain.md by `doc:`
    commit(repo, "extra sidecar")
    (repo / "docs/extra.doctest.yaml").unlink()
    _, docs, err = listed(capsys, "--changed", "HEAD", "docs")
    # `doc:` went with the file: the sidecar-less guides beside it are the candidates
    assert docs == ["docs/other.md", "docs/plain.md"]
    assert "docs/plain.md: a sidecar that may have been for it was removed (docs/extra.doctest.yaml)" in err


def test_a_renamed_guide_is_selected_under_its_new_name(repo, capsys):
    git(repo, "mv", "docs/other.md", "docs/renamed.md")
    commit(repo, "rename")
    _, docs, _ = listed(capsys, "--changed", "HEAD~1", "docs")
    assert docs == ["docs/renamed.md"]


def test_changes_outside_the_given_paths_select_nothing(repo, capsys):
    write(repo, "upstream/guides/two.md", GUIDE.format(title="two, changed"))
    code, docs, err = listed(capsys, "--changed", "HEAD", "docs")
    assert (code, docs) == (0, [])
    assert "nothing to do: none of the 6 guides in docs changed since HEAD" in err


@pytest.mark.parametrize("ref, message", [
    ("no-such-branch", "doctest-runner: error: --changed: 'no-such-branch' is not a commit in the git repository "),
    ("HEAD~5", "doctest-runner: error: --changed: 'HEAD~5' is not a commit in the git repository "),
    ("--output=/tmp/x", "doctest-runner: error: --changed: REF '--output=/tmp/x' must not start with '-'"),
])
def test_a_bad_ref_is_one_line_and_exit_2(repo, capsys, ref, message):
    code = main(["list", f"--changed={ref}", "docs"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith(message), err


def test_outside_a_git_work_tree_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    write(tmp_path, "g.md", GUIDE.format(title="g"))
    code = main(["list", "--changed", "HEAD", "g.md"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err == "doctest-runner: error: --changed compares with git, but g.md is not in a git work tree\n"


def test_a_changed_doc_set_read_from_elsewhere_says_what_counts(repo, capsys, tmp_path):
    elsewhere = tmp_path / "checkout"
    shutil.copytree(repo / "upstream", elsewhere)
    write(repo, "set/guides/one.doctest.yaml", "vars:\n  X: '3'\n")
    _, docs, err = listed(capsys, "--changed", "HEAD", "--source", str(elsewhere), "set")
    assert docs == ["guides/one.md"]
    assert (f"doctest-runner: note: --changed HEAD: doc set up reads its docs from --source {elsewhere}, outside "
            "the git work tree, so only changes to its sidecars, fixtures, manifest and image recipes select its "
            "guides") in err.splitlines()


# --- run --changed: the same selection; nothing changed starts no VM -----------------------------------------

class Ran(Exception):
    """Raised by the fake runner with the plans `run` would have run."""


@pytest.fixture
def no_vm(monkeypatch):
    import doctest_runner.cli.run_cmd as run_cmd

    def host_ready(accel=None):
        return SimpleNamespace(accel="tcg", why="test", cpu_mode="", nested=False)

    def run_plans(plans, options, host=None):
        raise Ran([plan.path for plan in plans])

    monkeypatch.setattr(run_cmd, "check_host_ready", host_ready)
    monkeypatch.setattr(run_cmd, "run_plans", run_plans)


def test_run_changed_runs_only_the_touched_guides(repo, capsys, no_vm):
    write(repo, "docs/side.doctest.yaml", "vars:\n  V: '9'\n")
    with pytest.raises(Ran) as ran:
        main(["run", "--changed", "HEAD", "--out", str(repo.parent / "out"), "docs", "set"])
    assert ran.value.args[0] == ["docs/side.md"]


def test_run_changed_with_nothing_changed_exits_0_before_any_vm(repo, capsys, monkeypatch):
    import doctest_runner.cli.run_cmd as run_cmd

    def no_host(accel=None):
        raise AssertionError("a VM host was asked for although nothing changed")

    monkeypatch.setattr(run_cmd, "check_host_ready", no_host)
    code = main(["run", "--changed", "HEAD", "--out", str(repo.parent / "out"), "docs"])
    out, err = capsys.readouterr()
    assert code == 0
    assert err.splitlines()[-1] == ("doctest-runner: nothing to do: none of the 6 guides in docs changed since HEAD "
                                    "(Markdown, sidecars, fixtures, doc-set manifests, image recipes)")


def test_run_changed_with_a_bad_ref_exits_2(repo, capsys, no_vm):
    code = main(["run", "--changed", "nope", "docs"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines()[-1].startswith("doctest-runner: error: --changed: 'nope' is not a commit")


def test_ref_problem():
    assert ref_problem("origin/main") is None
    assert ref_problem("HEAD~1") is None
    assert ref_problem("-x") is not None
    assert ref_problem("a\nb") is not None
    assert ref_problem(" ") is not None


def test_a_missing_argument_is_the_planner_error_not_a_git_one(repo, capsys):
    code, docs, err = listed(capsys, "--changed", "HEAD", "docs", "missing.md")
    assert (code, docs) == (1, [])
    assert err == "missing.md: no such file or directory\n"
