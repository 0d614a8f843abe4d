"""Issue 11, item 3: images are recipe NAMES; image-build writes stay in the image root.

A sidecar's, doc set's or the command line's `image:` naming a recipe file (a crafted recipe in the docs tree,
with its own mirror, packages and `files:`) is refused: names are looked up in vm_images/ or a `--recipes DIR`
the operator names. A recipe's `files:` key like `/../../../../tmp/x` is refused without writing anything
(the confinement function and the writer are tested directly: debootstrap never runs here).
"""

from __future__ import annotations

import argparse
import os

import pytest
from untrusted import assert_one_line_error, put, run_cli

from doctest_runner.cli.run_cmd import apply_recipes
from doctest_runner.image import debootstrap
from doctest_runner.image.recipe import find_recipe, load_recipe
from doctest_runner.model import DoctestError
from doctest_runner.trust import guest_write_path

EVIL_RECIPE = """\
    kind: debootstrap
    suite: bookworm
    mirror: http://attacker.invalid/debian
    files:
      /../../../../{canary}: owned
    """


@pytest.fixture
def evil_recipe(docs, canary):
    return put(docs, "recipes/evil.yaml", EVIL_RECIPE.format(canary=str(canary).lstrip("/")))


PATHS = ["recipes/evil.yaml", "./recipes/evil", "{docs}/recipes/evil.yaml", "../evil", "Evil", "evil.yaml/..", "-x"]


def test_a_sidecar_image_that_is_a_path_is_refused(docs, evil_recipe, canary):
    names = []
    for i, image in enumerate(PATHS):
        put(docs, f"g{i}.md", (docs / "guide.md").read_text())
        put(docs, f"g{i}.doctest.yaml", f"vars: {{A: b}}\nimage: '{image.format(docs=docs)}'\n")
        names.append(f"g{i}.md")
    result = run_cli("list", *names, cwd=docs)
    assert "Traceback" not in result.err and result.code == 2
    assert len(result.err_lines) == len(PATHS), result.err
    for i, line in enumerate(result.err_lines):
        assert line.startswith(f"g{i}.doctest.yaml:2: image ") and "must be a recipe name" in line, line
    assert not result.touched(evil_recipe) and not canary.exists()


def test_a_doc_set_image_that_is_a_path_is_refused(docs, evil_recipe, canary):
    put(docs, "set/doctest-set.yaml", "image: ../recipes/evil.yaml\nsource: {path: ..}\ndocs: [guide.md]\n")
    result = run_cli("list", "set", cwd=docs)
    line = assert_one_line_error(result, code=2)
    assert line.startswith("set/doctest-set.yaml:1: image '../recipes/evil.yaml' must be a recipe name")
    assert not result.touched(evil_recipe) and not canary.exists()


def test_run_image_option_is_a_name_too(docs, evil_recipe, canary):
    result = run_cli("run", "guide.md", "--image", "recipes/evil.yaml", "--no-progress", cwd=docs)
    line = assert_one_line_error(result, code=2)
    assert line.startswith("doctest-runner: error: --image: image 'recipes/evil.yaml' must be a recipe name")
    assert not result.touched(evil_recipe) and not canary.exists()
    assert result.processes() == []  # nothing built, nothing booted


def test_recipes_folder_named_on_the_command_line_is_searched_first(tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    put(mine, "custom-12.yaml", "kind: debootstrap\nsuite: bookworm\n")
    monkeypatch.delenv("DOCTEST_RUNNER_RECIPES", raising=False)
    args = argparse.Namespace(images=["custom-12"], recipes=[str(mine)])
    apply_recipes(args)
    assert os.environ["DOCTEST_RUNNER_RECIPES"] == str(mine)
    assert find_recipe("custom-12") == mine / "custom-12.yaml"
    with pytest.raises(DoctestError, match="--recipes must be an existing folder"):
        apply_recipes(argparse.Namespace(images=[], recipes=[str(tmp_path / "nope")]))


# --- image-build writes ---------------------------------------------------------------------------------------

@pytest.fixture
def image_root(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    return root


@pytest.mark.parametrize("key", ["/../../../../tmp/x", "/etc/../../x", "etc/x", "/etc//x", "/etc/./x", "/a\0b"])
def test_guest_write_path_refuses_escapes(image_root, key):
    with pytest.raises(DoctestError, match="must be an absolute guest path without"):
        guest_write_path(image_root, key)


def test_guest_write_path_refuses_a_symlinked_folder_that_points_out(image_root, tmp_path):
    host = tmp_path / "host-etc"
    host.mkdir()
    (image_root / "etc" / "cron.d").symlink_to(host)
    with pytest.raises(DoctestError, match="leaves the image root through a symlink"):
        guest_write_path(image_root, "/etc/cron.d/job")
    (image_root / "lib").symlink_to("usr/lib")  # merged /usr: a relative link inside the root is fine
    assert guest_write_path(image_root, "/lib/x.conf") == image_root / "lib" / "x.conf"
    assert guest_write_path(image_root, "/etc/hostname") == image_root / "etc" / "hostname"


def test_the_image_writer_refuses_before_writing(image_root, tmp_path, canary):
    rel = os.path.relpath(canary, "/")
    with pytest.raises(DoctestError):
        debootstrap._write(image_root, "/../../../../../../../../" + rel, "owned\n")
    assert not canary.exists()
    host = tmp_path / "host-etc"
    host.mkdir()
    (image_root / "etc" / "out").symlink_to(host)
    with pytest.raises(DoctestError):
        debootstrap._write(image_root, "/etc/out/CANARY", "owned\n")
    assert list(host.iterdir()) == []


def test_a_recipe_with_an_escaping_files_key_or_unit_is_refused_when_loaded(evil_recipe, tmp_path):
    with pytest.raises(DoctestError) as err:
        load_recipe(str(evil_recipe))
    assert "files: key '/../../../../" in str(err.value) and "must not hold '.', '..'" in str(err.value)
    assert str(err.value).startswith(f"{evil_recipe}:4: ")
    unit = put(tmp_path, "unit.yaml", "kind: debootstrap\nsuite: bookworm\nmask_units: ['../../../../tmp/x']\n")
    with pytest.raises(DoctestError, match="mask_units: '../../../../tmp/x' is not a unit name"):
        load_recipe(str(unit))
