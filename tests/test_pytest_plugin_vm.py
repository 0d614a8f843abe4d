"""`pytest -k` on one step and `doctest-runner run -k` on the same expression give the same verdicts, in real VMs.

One guide (docs_under_test/examples/hello-service.md), two VM boots: `-k curl` selects its last step (line 72), so
both front ends run the nine steps before it too; pytest runs them as setup of `::L72` and says so in the JUnit
properties. Every step's status and failed line must agree, and so must the exit status.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from doctest_runner.pytest_plugin import SETUP_PROPERTY

pytestmark = pytest.mark.vm

REPO = Path(__file__).resolve().parents[1]
GUIDE = "docs_under_test/examples/hello-service.md"
KEYWORD = "curl"  # only the last step's command: `for i in 1 2 3 4 5; do curl -fs http://127.0.0.1:8080/ ...`
LINES = [12, 13, 14, 21, 34, 45, 63, 64, 70, 72]  # the guide's steps (`doctest-runner list`)


def _property_verdict(value: str) -> tuple[int, str, int | None]:
    """`path:12 passed` or `path:12 failed (category at path:13: evidence)` -> (12, status, failed line)."""
    m = re.match(r"(?P<path>.+):(?P<line>\d+) (?P<status>\S+)(?: \(\S+ at .+:(?P<failed>\d+):)?", value)
    assert m, value
    return int(m["line"]), m["status"], int(m["failed"]) if m["failed"] else None


def _case_verdict(case: ET.Element) -> tuple[int, str, int | None]:
    line = int(case.get("name", "").split("[")[0].lstrip("L"))
    for tag, status in (("failure", "failed"), ("error", "not-run"), ("skipped", "skipped")):
        el = case.find(tag)
        if el is not None:
            message = el.get("message") or ""
            if status == "skipped" and "not run" in message:
                status = "not-run"
            m = re.search(r":(\d+): ", message)
            return line, status, int(m[1]) if status == "failed" and m else None
    return line, "passed", None


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("k")
    run = subprocess.run(
        [sys.executable, "-m", "doctest_runner", "run", GUIDE, "-k", KEYWORD, "--out", str(tmp / "run"),
         "--no-progress", "--checkpoint", "off"],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
    )
    junit = tmp / "plugin.xml"
    plug = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", GUIDE, "-k", KEYWORD,
         f"--junitxml={junit}", f"--dr-out={tmp / 'plugin-art'}"],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
    )
    return tmp, run, plug, junit


def test_pytest_k_gives_the_verdicts_of_run_k(both):
    tmp, run, plug, junit = both
    report = json.loads((tmp / "run" / "report.json").read_text())
    (doc,) = report["docs"]
    from_run = {s["line"]: (s["status"], s["failed_line"]) for s in doc["steps"] if s["reason"] != "deselected"}

    (case,) = ET.parse(junit).getroot().iter("testcase")
    assert case.get("name") == "L72"
    from_plugin = {}
    for p in case.iter("property"):
        if p.get("name") == SETUP_PROPERTY:
            line, status, failed = _property_verdict(p.get("value", ""))
            from_plugin[line] = (status, failed)
    line, status, failed = _case_verdict(case)
    from_plugin[line] = (status, failed)

    assert sorted(from_plugin) == LINES, plug.stdout[-3000:]
    assert from_plugin == from_run, (plug.stdout[-3000:], run.stdout[-3000:])
    assert plug.returncode == run.returncode, (plug.stdout[-3000:], run.stderr[-3000:])


def test_the_earlier_steps_are_reported_as_setup(both):
    _, _, plug, _ = both
    assert "1 passed, 10 deselected" in plug.stdout, plug.stdout[-3000:]  # the 9 steps before it and the checks
    assert f"{GUIDE}::L72 needed 9 earlier steps:" in plug.stdout
    assert f"  {GUIDE}:64 passed" in plug.stdout
