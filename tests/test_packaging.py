"""`pip install .` without the `vm` extra, in a fresh venv on a PATH with no compiler: list, lint and the
pytest plugin work, libvirt-python is not built, and `run` says what to install.

Why a real install: the editable install of the dev venv finds files the wheel may lack (package data, the
version), and the dev venv has libvirt-python, so only a fresh venv shows what `pip install doctest-runner`
gives a pre-commit hook or an editor. About 15 s; it needs the package index that installed the dev venv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from doctest_runner import __version__

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs_under_test" / "examples"
# what building a C extension such as libvirt-python needs; none of it may be on the install's PATH
COMPILER_TOOLS = ("gcc", "cc", "c99", "x86_64-linux-gnu-gcc", "clang", "pkg-config")
# host tools that lint and list use when present, as on a reader's machine
ALLOWED_TOOLS = ("shellcheck", "bash", "git")


def _copy_project(dest: Path) -> Path:
    """The files a source install reads, without the dev venv or build leftovers (the work tree stays clean)."""
    ignore = shutil.ignore_patterns(".venv", ".git", ".tox", "build", "dist", "*.egg-info", "__pycache__",
                                    "doctest-out", "tests", "bench", "docs_under_test", ".hypothesis")
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def _run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.install
def test_pip_install_without_vm_extra_needs_no_compiler(tmp_path):
    src = _copy_project(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ALLOWED_TOOLS:
        found = shutil.which(tool)
        if found:
            (tools / tool).symlink_to(found)
    path = f"{venv / 'bin'}:{tools}"
    assert [t for t in COMPILER_TOOLS if shutil.which(t, path=path)] == []
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "CC", "CXX", "PYTHONHOME") and not k.startswith("PYTEST_")}
    env["PATH"] = path

    done = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(src)], env, tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = _run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"], env, tmp_path)
    dists = {d["name"].lower(): d["version"] for d in json.loads(listed.stdout)}
    assert dists.get("doctest-runner") == __version__  # the one version source reaches the metadata
    assert "libvirt-python" not in dists and "pytest-testinfra" not in dists
    shown = _run([str(venv / "bin" / "python"), "-c",
                  "import importlib.resources as r; print(r.files('doctest_runner').joinpath('py.typed').is_file())"],
                 env, tmp_path)
    assert shown.stdout.strip() == "True", shown.stderr

    # the image recipes ship with it, found by name as in a checkout
    found = _run([str(venv / "bin" / "python"), "-c",
                  "from doctest_runner.image.recipe import find_recipe, load_recipe;"
                  "print(find_recipe('debian-12')); print(load_recipe('debian-12').name)"], env, tmp_path)
    assert found.stdout.splitlines() == [str(venv / "share" / "doctest-runner" / "vm_images" / "debian-12.yaml"),
                                         "debian-12"], found.stderr
    shipped = sorted(p.name for p in (venv / "share" / "doctest-runner" / "vm_images").iterdir())
    assert shipped == sorted(p.name for p in (ROOT / "vm_images").glob("*.yaml"))

    # lint and list from the wheel give what the project's own code gives on the same PATH
    installed = str(venv / "bin" / "doctest-runner")
    dev = [sys.executable, "-m", "doctest_runner"]
    for args in (["lint", str(EXAMPLES)], ["list", "--json", str(EXAMPLES)]):
        got = _run([installed, *args], env, tmp_path)
        want = _run([*dev, *args], env | {"PATH": f"{Path(sys.executable).parent}:{tools}",
                                          "PYTHONPATH": str(ROOT)}, tmp_path)
        assert "Traceback" not in got.stderr, got.stderr
        assert (got.returncode, got.stdout) == (want.returncode, want.stdout), args
        assert got.stdout.strip(), args
    lint = _run([installed, "lint", str(EXAMPLES)], env, tmp_path)
    assert lint.returncode == 1  # the examples carry seeded doc bugs
    assert re.search(r"^\d+ errors?, \d+ warnings? in \d+ docs$", lint.stdout, re.M), lint.stdout

    # the pytest plugin loads without libvirt and testinfra
    helped = _run([str(venv / "bin" / "python"), "-m", "pytest", "--help"], env, tmp_path)
    assert helped.returncode == 0 and "--dr-output" in helped.stdout, helped.stderr

    # commands that boot VMs say what to install, in one line, before doing anything
    out = tmp_path / "out"
    ran = _run([installed, "run", "--out", str(out), str(EXAMPLES / "hello-service.md")], env, tmp_path)
    assert ran.returncode == 2 and ran.stdout == ""
    assert ran.stderr.splitlines() == [
        "doctest-runner: error: run needs libvirt-python and pytest-testinfra, not installed here: "
        "pip install 'doctest-runner[vm]' (building libvirt-python needs the Debian packages gcc pkg-config "
        "python3-dev libvirt-dev: apt-get install gcc pkg-config python3-dev libvirt-dev)"]
    assert not out.exists()


# ---- the metadata itself (no install) ------------------------------------------------------------------

def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_one_version_source_and_the_changelog_knows_it():
    project = _pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert _pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "doctest_runner.__version__"}
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)
    assert changelog.index("## [Unreleased]") < changelog.index(f"## [{__version__}]")


def test_dependencies_need_no_compiler_and_the_vm_extra_has_the_rest():
    project = _pyproject()["project"]
    names = {re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert not names & {"libvirt-python", "pytest-testinfra", "lxml"}
    extras = project["optional-dependencies"]
    assert {re.split(r"[<>=!~ ]", d, maxsplit=1)[0] for d in extras["vm"]} == {"libvirt-python", "pytest-testinfra"}
    assert not any(d.startswith("lxml") for deps in extras.values() for d in deps)
    pytest_req = next(d for d in project["dependencies"] if d.startswith("pytest"))
    assert re.search(r"<\d+", pytest_req), "run/select.py imports pytest's private -k grammar: bound the major"
    sources = [p.read_text() for p in (ROOT / "doctest_runner").rglob("*.py")]
    assert not any(re.search(r"^\s*(import|from) lxml\b", s, re.M) for s in sources)


def test_license_typed_marker_and_pre_commit_hook():
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()
    project = _pyproject()["project"]
    assert project["license"] == {"text": "Apache-2.0"}
    assert "License :: OSI Approved :: Apache Software License" in project["classifiers"]
    assert (ROOT / "doctest_runner" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["doctest_runner"]
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["language"] == "python"
    script, command = hook["entry"].split()
    assert script in project["scripts"] and command == "lint"
    files = re.compile(hook["files"])
    assert files.search("docs/install.md") and not files.search("docs/install.doctest.yaml")
