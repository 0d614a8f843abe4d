"""One cache root for every stage: $DOCTEST_RUNNER_CACHE, then $XDG_CACHE_HOME, then ~/.cache."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from doctest_runner.image import images_dir
from doctest_runner.paths import cache_root
from doctest_runner.plan.docset import fetch_git
from doctest_runner.vm.state import vms_dir


def test_own_variable_wins_and_expands_the_home_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root({"DOCTEST_RUNNER_CACHE": "/srv/cache", "XDG_CACHE_HOME": "/xdg"}) == Path("/srv/cache")
    assert cache_root({"DOCTEST_RUNNER_CACHE": "~/dr"}) == tmp_path / "dr"


def test_xdg_cache_home_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root({"XDG_CACHE_HOME": "/xdg"}) == Path("/xdg/doctest-runner")
    assert cache_root({}) == tmp_path / ".cache" / "doctest-runner"
    # an empty variable counts as unset (XDG base directory spec)
    assert cache_root({"DOCTEST_RUNNER_CACHE": "", "XDG_CACHE_HOME": ""}) == tmp_path / ".cache" / "doctest-runner"


def test_reads_the_process_environment_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("DOCTEST_RUNNER_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "doctest-runner"


def test_image_cache_and_vm_records_honour_xdg_cache_home(monkeypatch, tmp_path):
    """The image cache used to ignore $XDG_CACHE_HOME while doc-set sources honoured it."""
    monkeypatch.delenv("DOCTEST_RUNNER_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert images_dir() == tmp_path / "doctest-runner" / "images"
    assert vms_dir() == tmp_path / "doctest-runner" / "vms"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_doc_set_sources_and_images_share_the_root(monkeypatch, tmp_path):
    monkeypatch.delenv("DOCTEST_RUNNER_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "guide.md").write_text("# Guide\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    for args in (["init", "-q", "-b", "main"], ["add", "guide.md"], ["commit", "-q", "-m", "guide"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    dest = fetch_git(str(repo), "main", [])
    assert dest.parent == tmp_path / "xdg" / "doctest-runner" / "sources"
    assert (dest / "guide.md").read_text() == "# Guide\n"
    assert images_dir().parent == dest.parent.parent
