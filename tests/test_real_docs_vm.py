"""Zero-config verdicts in real VMs: another platform's steps never run, and one real failure is one entry.

Two guides written for these tests, run with `--keep-going` on the default image with no sidecar:
- tests/data/platform/multi.md: sections for macOS, Fedora, openSUSE, FreeBSD, Debian 11 and 12, Windows, a
  tab set, a bold label, an `On macOS:` label and an unscoped `brew` step. Only its Debian/Linux steps may run.
- tests/data/cascade_vm/demo-tool.md: `mkdir /opt/demo` without sudo (line 8) breaks the five steps after it
  that use /opt/demo; a later unrelated failure (line 43) stays a bug of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.vm

REPO = Path(__file__).resolve().parents[1]
MULTI = "tests/data/platform/multi.md"
CASCADE = "tests/data/cascade_vm/demo-tool.md"
LINUX_LINES = {8, 39, 59, 83, 93}  # the steps a reader on Debian 12 types (see `list`)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("real")
    proc = subprocess.run(
        [sys.executable, "-m", "doctest_runner", "run", MULTI, CASCADE, "--keep-going", "--out", str(out),
         "--jobs", "2", "--no-progress", "--checkpoint", "off"],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    data = json.loads((out / "report.json").read_text())
    return {d["path"]: d for d in data["docs"]}, (out / "checklist.md").read_text(), proc.stdout


def test_only_the_debian_path_runs(report):
    docs, _, _ = report
    steps = docs[MULTI]["steps"]
    ran = {s["line"] for s in steps if s["status"] not in ("skipped", "not-run")}
    assert ran == LINUX_LINES
    for s in steps:
        if s["line"] not in LINUX_LINES:
            assert s["status"] == "skipped" and s["reason"], s
            assert "debian-12" in s["reason"], s["reason"]  # "for macOS; the image is debian-12" ...
    by_line = {s["line"]: s for s in steps}
    assert by_line[93]["status"] == "passed"  # `[ "$(uname -m)" = aarch64 ] && ...` is a guard, not a failure


def test_a_cascade_is_one_checklist_entry(report):
    docs, checklist, stdout = report
    steps = {s["line"]: s for s in docs[CASCADE]["steps"]}
    assert steps[8]["status"] == "failed" and steps[8]["category"] == "permission"
    assert steps[8]["after_failure"] is None
    for line in (14, 18, 24, 28, 32):
        assert steps[line]["status"] == "failed", steps[line]
        assert steps[line]["after_failure"] == f"{CASCADE}:8", steps[line]
    assert steps[38]["status"] == "passed"
    assert steps[43]["status"] == "failed" and steps[43]["after_failure"] is None
    entries = [ln for ln in checklist.splitlines() if ln.startswith("- [ ]") and CASCADE in ln]
    assert len(entries) == 2, entries  # line 8 (with its five) and the unrelated line 43
    first = next(e for e in entries if f"{CASCADE}:8 " in e)
    assert "and 5 later steps failed after it" in first
    assert f"{CASCADE}:43" in stdout
