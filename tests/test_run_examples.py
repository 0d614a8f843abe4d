"""`doctest-runner run docs_under_test/` end to end in real VMs (TCG here).

The example guides in docs_under_test/examples/ were written with one seeded doc bug
each; the run must report exactly those steps, at the right lines, with the right
categories, and nothing else. The pytest plugin must agree with `run`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

pytestmark = pytest.mark.vm

REPO = Path(__file__).resolve().parents[1]
EX = "docs_under_test/examples"

# path -> (step line, failed line, category): the seeded doc bugs, one per guide
SEEDED = {
    f"{EX}/debian-version.md": (7, 7, "output-mismatch"),
    f"{EX}/install-jq.md": (7, 7, "interactive"),
    f"{EX}/ip-forward.md": (10, 11, "permission"),
    f"{EX}/kvm-check.md": (8, None, "syntax"),
    f"{EX}/missing-package.md": (4, 5, "package-not-found"),
    f"{EX}/missing-tool.md": (8, 8, "command-not-found"),
    f"{EX}/monitor-service.md": (6, 6, "service"),
    f"{EX}/forwarding-check.md": (7, 7, "unknown"),
    f"{EX}/unpack-release.md": (9, 9, "placeholder"),
}
CLEAN = {f"{EX}/hello-service.md"}


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "doctest_runner", *args], cwd=REPO, capture_output=True, text=True, **kw
    )


@pytest.fixture(scope="module")
def run_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    proc = _cli("run", "docs_under_test/", "--out", str(out), "--jobs", "2", "--no-progress", timeout=1800)
    return out, proc


@pytest.fixture(scope="module")
def report(run_out):
    out, _ = run_out
    return json.loads((out / "report.json").read_text())


def test_exit_status_and_summary_name_each_broken_step(run_out):
    out, proc = run_out
    assert proc.returncode == 1, proc.stderr[-3000:]
    for path, (line, failed, _cat) in SEEDED.items():
        assert f"{path}:{failed or line}" in proc.stdout, proc.stdout
    assert "docs_under_test/kata" not in proc.stdout  # the explicit Kata set is not entered


def test_exactly_the_seeded_failures(report):
    found, failed_lines = {}, {}
    for doc in report["docs"]:
        for step in doc["steps"]:
            if step["status"] in ("failed", "error"):
                assert doc["path"] not in found, f"two failures in {doc['path']}"
                found[doc["path"]] = (step["line"], step["category"])
                failed_lines[doc["path"]] = step["failed_line"]
    assert found == {p: (line, cat) for p, (line, _failed, cat) in SEEDED.items()}
    for path, (_line, failed, _cat) in SEEDED.items():
        if failed is not None:
            assert failed_lines[path] == failed, path
    assert {d["path"] for d in report["docs"]} == set(SEEDED) | CLEAN


def test_statuses_around_the_failures(report):
    docs = {d["path"]: d for d in report["docs"]}
    assert docs[f"{EX}/hello-service.md"]["status"] == "passed"
    assert all(c["passed"] for c in docs[f"{EX}/hello-service.md"]["checks"])
    assert len(docs[f"{EX}/hello-service.md"]["checks"]) == 4
    for path in SEEDED:
        assert docs[path]["status"] == "failed"
    jq = [s["status"] for s in docs[f"{EX}/install-jq.md"]["steps"]]
    assert jq == ["passed", "failed", "not-run"]
    tool = [s["status"] for s in docs[f"{EX}/missing-tool.md"]["steps"]]
    assert tool == ["passed", "failed"]
    groups = {s["group"] for d in report["docs"] for s in d["steps"] if s["status"] == "failed"}
    assert groups == {"doc"}
    assert report["host"]["accel"] in ("kvm", "tcg") and report["host"]["why"]


def test_json_matches_its_schema(report):
    schema = json.loads((REPO / "doctest_runner/report/schema.json").read_text())
    jsonschema.validate(report, schema)


def test_junit_validates_and_names_cases_path_line(run_out):
    xmlschema = pytest.importorskip("xmlschema")
    out, _ = run_out
    from doctest_runner.report.junit import XSD_PATH

    xmlschema.XMLSchema(str(XSD_PATH)).validate(str(out / "junit.xml"))
    root = ET.parse(out / "junit.xml").getroot()
    failures = {
        case.get("name"): case.find("failure").get("message")
        for case in root.iter("testcase")
        if case.find("failure") is not None
    }
    assert len(failures) == len(SEEDED)
    for path, (line, _failed, cat) in SEEDED.items():
        assert failures[f"{path}:{line}"].startswith(cat)
    # every case links to its doc line (GitLab's and GitHub's test widgets); a failure to the line that failed
    cases = list(root.iter("testcase"))
    assert cases and all(c.get("file") and int(c.get("line")) > 0 for c in cases)
    where = {c.get("name"): (c.get("file"), int(c.get("line"))) for c in cases if c.find("failure") is not None}
    for path, (line, failed, _cat) in SEEDED.items():
        assert where[f"{path}:{line}"] == (path, failed or line)


def test_checklist_lists_each_broken_step_once(run_out):
    out, _ = run_out
    text = (out / "checklist.md").read_text()
    items = [ln for ln in text.splitlines() if ln.startswith("- [ ]")]
    assert len(items) == len(SEEDED)
    for path, (line, failed, cat) in SEEDED.items():
        hits = [ln for ln in items if f"{path}:" in ln]
        assert len(hits) == 1 and cat in hits[0], (path, hits)


def test_artifacts_of_a_failed_guide(run_out):
    out, _ = run_out
    art = out / "artifacts" / "docs_under_test_examples_ip-forward.md"
    assert any(p.name.endswith(".console.log") for p in art.iterdir())  # the serial console, kept
    assert (art / "journal.txt").read_text().strip()
    assert (art / "dmesg.txt").read_text().strip()
    assert list((art / "steps").iterdir())


def test_pytest_plugin_gives_the_same_verdicts(report, tmp_path):
    guides = [f"{EX}/ip-forward.md", f"{EX}/missing-tool.md"]
    junit = tmp_path / "plugin.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *guides, f"--junitxml={junit}",
         f"--dr-out={tmp_path / 'art'}"],
        cwd=REPO, capture_output=True, text=True, timeout=1200,
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    plugin = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        status = "passed"
        if case.find("failure") is not None:
            status = "failed"
        elif case.find("skipped") is not None:
            status = "skipped"
        plugin[(case.get("classname"), case.get("name"))] = status  # pytest's id `path::L12`: `path`, `L12`
    expected = {}
    for doc in report["docs"]:
        if doc["path"] in guides:
            for s in doc["steps"]:
                st = {"not-run": "skipped"}.get(s["status"], s["status"])
                expected[(doc["path"].replace("/", "."), f"L{s['line']}")] = st
    assert plugin == expected
    assert "permission" in proc.stdout and f"{EX}/ip-forward.md:11" in proc.stdout


def test_html_report_of_the_real_run_renders_in_chromium(run_out, tmp_path):
    import shutil

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/setup installs it)")
    out, _ = run_out
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}",
         "--dump-dom", (out / "report.html").resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    for path, (line, failed, cat) in SEEDED.items():
        assert f"{path}</h2>" in dom
        assert f">{cat}</span>" in dom
    assert f"{EX}/hello-service.md</h2>" in dom
