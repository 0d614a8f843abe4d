"""Lint through the real parser and planner: the fixture docs and the Kata Containers snapshot.

Expected lines were read off `cat -n` of each file by hand.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from doctest_runner.lint import lint_paths

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "lint"
KATA = ROOT / ".." / "shared" / "kata-docs"
KATA_DOCS = KATA / "docs"

needs_kata = pytest.mark.skipif(not KATA_DOCS.is_dir(), reason="Kata docs snapshot not present")


def _lines(report, rule, path_end=""):
    return sorted(f.line for f in report.findings if f.rule == rule and f.path.endswith(path_end))


def test_clean_doc_has_no_findings():
    report = lint_paths([str(DATA / "clean.md")])
    assert report.errors == []
    assert [str(f) for f in report.findings] == []
    assert len(report.docs) == 1


def test_problems_doc_reports_each_problem_at_its_line():
    report = lint_paths([str(DATA / "problems.md")])
    got = {(f.line, f.rule) for f in report.findings}
    assert {
        (6, "apt-no-yes"),
        (7, "sudo-redirect"),
        (13, "placeholder"),
        (14, "curl-pipe-shell"),
        (17, "prose-step"),
        (22, "interactive-tty"),
        (23, "prompt-typo"),
    } <= got
    placeholders = sorted(f.message for f in report.findings if f.rule == "placeholder")
    assert len(placeholders) == 2 and "$VERSION" in placeholders[1] and "<PLATFORM>" in placeholders[0]


def test_sidecar_supplies_prose_commands_vars_and_pty(tmp_path):
    with_sidecar = lint_paths([str(DATA / "sidecar-guide.md")])
    assert [(f.line, f.rule) for f in with_sidecar.findings] == [(19, "prose-step")]
    # the same doc without its sidecar: the prose steps, the unset VERSION and the -it come back
    alone = tmp_path / "sidecar-guide.md"
    alone.write_text((DATA / "sidecar-guide.md").read_text())
    without = lint_paths([str(alone)])
    assert [(f.line, f.rule) for f in without.findings] == [
        (3, "prose-step"),
        (5, "prose-step"),
        (10, "placeholder"),
        (16, "interactive-tty"),
        (19, "prose-step"),
    ]


@needs_kata
def test_kata_prerequisites_unset_version_and_platform():
    report = lint_paths([str(KATA_DOCS / "prerequisites.md")])
    unset = sorted((f.line, f.message.split()[1]) for f in report.findings if f.rule == "placeholder")
    assert (55, "$PLATFORM") in unset and (55, "$VERSION") in unset
    # `apt install containerd` (line 18) and `yum install containerd` (line 39) wait for a "yes"
    assert _lines(report, "apt-no-yes") == [18]
    assert _lines(report, "install-no-yes") == [39]


@needs_kata
def test_kata_runtime_configuration_sudo_cat_redirects():
    report = lint_paths([str(KATA_DOCS / "runtime-configuration.md")])
    assert _lines(report, "sudo-redirect") == [51, 60]


@needs_kata
def test_kata_containerd_install_prose_steps_and_tty():
    report = lint_paths(
        [str(KATA_DOCS / "install" / "container-manager" / "containerd" / "containerd-install.md")]
    )
    prose = {f.line: f.message for f in report.findings if f.rule == "prose-step"}
    assert "Download a release from:" in prose[31]
    assert "Unpack the downloaded archive." in prose[39]
    # `sudo ctr run ... --rm -t "$image" ...` asks for a terminal
    assert _lines(report, "interactive-tty") == [118]


@needs_kata
def test_kata_whole_snapshot_lints_without_crashing():
    started = time.monotonic()
    report = lint_paths([str(KATA_DOCS)])
    elapsed = time.monotonic() - started
    assert len(report.docs) >= 15
    assert all(f.line >= 1 for f in report.findings)
    print(f"kata snapshot: {len(report.docs)} docs, {len(report.findings)} findings in {elapsed:.2f}s")
