"""Issue 11, item 9: a symlink left in `--out` (by a docs pull request in a CI workspace) is not written through.

Canary: a folder outside the report folder; `out/artifacts` and the report files point into it. After a run
and after the report writers, the canary folder is still empty and the link is gone or replaced.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import doctest_runner.vm
from doctest_runner.model import DoctestError, HostInfo
from doctest_runner.report import FILES, write_all
from doctest_runner.report.outdir import fresh_artifacts_dir
from doctest_runner.run.runner import RunOptions, run_plans
from report_sample import sample


@pytest.fixture
def canary(tmp_path) -> Path:
    d = tmp_path / "canary"
    d.mkdir()
    return d


def test_run_replaces_an_artifacts_symlink(tmp_path, canary, monkeypatch):
    monkeypatch.setattr(doctest_runner.vm, "reap_stale", lambda **kw: [])  # no libvirt in a unit test
    out = tmp_path / "out"
    out.mkdir()
    (out / "artifacts").symlink_to(canary, target_is_directory=True)
    run_plans([], RunOptions(out_dir=out), host=HostInfo(accel="tcg", why="test"), log=lambda msg: None)
    assert not (out / "artifacts").is_symlink() and (out / "artifacts").is_dir()
    assert list(canary.iterdir()) == []
    assert (out / "report.json").is_file() and not (out / "report.json").is_symlink()


def test_fresh_artifacts_dir_removes_old_content_and_file_links(tmp_path, canary):
    out = tmp_path / "out"
    (out / "artifacts" / "old-guide").mkdir(parents=True)
    (out / "artifacts" / "old-guide" / "steps.log").write_text("old\n")
    assert fresh_artifacts_dir(out) == out / "artifacts"
    assert list((out / "artifacts").iterdir()) == []
    (out / "artifacts").rmdir()
    (out / "artifacts").symlink_to(canary / "file")  # a link to a file that does not exist yet
    fresh_artifacts_dir(out)
    assert not (canary / "file").exists() and (out / "artifacts").is_dir()


def test_fresh_artifacts_dir_refuses_what_it_cannot_remove(tmp_path):
    out = tmp_path / "out"
    out.write_text("a file where the folder should be\n")
    with pytest.raises(DoctestError):
        fresh_artifacts_dir(out)


def test_report_files_replace_symlinks(tmp_path, canary):
    out = tmp_path / "out"
    out.mkdir()
    targets = {}
    for name in FILES.values():
        target = canary / name
        target.write_text("canary\n")
        (out / name).symlink_to(target)
        targets[name] = target
    write_all(sample().make_run(), out)
    for name, target in targets.items():
        assert target.read_text() == "canary\n", name
        assert not (out / name).is_symlink() and (out / name).stat().st_size > 0


def test_a_guides_artifacts_folder_is_never_a_symlink(tmp_path, canary):
    """`walk --out` and the pytest plugin give GuideRun `out/<guide>` directly: a link there is removed too."""
    from doctest_runner.report.outdir import real_dir

    guide_dir = tmp_path / "walk" / "docs_install.md"
    guide_dir.parent.mkdir()
    guide_dir.symlink_to(canary, target_is_directory=True)
    assert real_dir(guide_dir) == guide_dir
    assert guide_dir.is_dir() and not guide_dir.is_symlink() and list(canary.iterdir()) == []
    assert real_dir(guide_dir) == guide_dir  # an existing real folder is kept
