"""report.json: matches its documented schema, and survives a crash mid-run."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest

from doctest_runner.report import JsonReportWriter, run_dict, write_all
from doctest_runner.report.json import load_schema
from report_sample import sample

DATA = Path(__file__).parent / "data" / "report"
ROOT = Path(__file__).resolve().parents[1]


def validator():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_full_report_validates_and_has_the_documented_fields(tmp_path):
    paths = write_all(sample().make_run(), tmp_path)
    report = json.loads(paths["json"].read_text())
    validator().validate(report)
    assert report["complete"] is True and report["finished_at"]
    assert report["host"] == {"accel": "tcg", "why": "CPU has no vmx/svm", "cpu_mode": "max", "nested": None}
    install = report["docs"][0]
    assert install["path"] == "docs/installation.md" and install["status"] == "failed"
    tarball = install["steps"][2]
    assert tarball["id"] == "docs/installation.md:210"
    assert (tarball["line"], tarball["end_line"], tarball["failed_line"]) == (210, 228, 224)
    assert tarball["location"] == "docs/installation.md:224"
    assert (tarball["category"], tarball["group"]) == ("network", "environment")
    assert tarball["heading"] == ["Installation", "Install from a pre-built release tarball"]
    assert tarball["output_tail"].endswith("curl: (6) Could not resolve host: github.com")
    not_run = install["steps"][4]
    assert (not_run["status"], not_run["reason"], not_run["category"]) == (
        "not-run", "not run: an earlier step failed", None)
    skipped = report["docs"][2]["steps"][0]
    assert skipped["reason"] == "requires kvm; this host has none"
    assert report["docs"][3]["error"].startswith("VM did not boot")
    s = report["summary"]
    assert s["broken"] == ["docs/installation.md:44", "docs/installation.md:224", "docs/installation.md:289",
                           "docs/install/container-manager/containerd/containerd-install.md:56"]
    assert s["groups"] == {"doc": 2, "environment": 2}
    assert s["docs"] == {"total": 4, "passed": 1, "failed": 2, "error": 1, "skipped": 0}
    assert s["passed"] is False


def test_schema_rejects_what_the_docs_forbid():
    good = run_dict(sample().make_run())
    v = validator()
    v.validate(good)
    bad_status = copy.deepcopy(good)
    bad_status["docs"][0]["steps"][0]["status"] = "broken"
    bad_category = copy.deepcopy(good)
    bad_category["docs"][0]["steps"][0]["category"] = "cosmic-rays"
    failed_without_category = copy.deepcopy(good)
    failed_without_category["docs"][0]["steps"][0]["category"] = None
    missing_line = copy.deepcopy(good)
    del missing_line["docs"][0]["steps"][0]["line"]
    for broken in (bad_status, bad_category, failed_without_category, missing_line):
        with pytest.raises(jsonschema.ValidationError):
            v.validate(broken)


def test_writer_rewrites_after_each_guide(tmp_path):
    mod = sample()
    full = mod.make_run()
    path = tmp_path / "report.json"
    writer = JsonReportWriter(path, type(full)(full.run_id, full.started_at, full.host))
    first = json.loads(path.read_text())
    assert first["docs"] == [] and first["complete"] is False
    for i, doc in enumerate(full.docs, start=1):
        writer.add_doc(doc)
        now = json.loads(path.read_text())
        validator().validate(now)
        assert [d["path"] for d in now["docs"]] == [d.path for d in full.docs[:i]]
        assert now["complete"] is False
    writer.finish()
    final = json.loads(path.read_text())
    assert final["complete"] is True and final["finished_at"]
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind


def test_crash_mid_run_leaves_finished_guides_readable(tmp_path):
    """A process that dies after two guides (no finish, no cleanup) leaves a valid report of two guides."""
    script = textwrap.dedent(f"""
        import importlib.util, os, sys
        sys.path.insert(0, {str(ROOT)!r})
        spec = importlib.util.spec_from_file_location("s", {str(DATA / 'sample_run.py')!r})
        mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
        from doctest_runner.model import RunResult
        from doctest_runner.report import JsonReportWriter
        run = mod.make_run()
        w = JsonReportWriter({str(tmp_path / 'report.json')!r}, RunResult(run.run_id, run.started_at, run.host))
        w.add_doc(run.docs[0])
        w.add_doc(run.docs[1])
        os._exit(3)  # killed between guides: no finally, no atexit, no finish()
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 3, proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    validator().validate(report)
    assert report["complete"] is False and report["finished_at"] is None
    assert [d["path"] for d in report["docs"]] == [
        "docs/installation.md", "docs/install/container-manager/containerd/containerd-install.md"]
    assert report["summary"]["broken"][-1] == "docs/install/container-manager/containerd/containerd-install.md:56"


def test_writer_as_context_manager_finishes_only_on_success(tmp_path):
    mod = sample()
    run = mod.make_run()
    with JsonReportWriter(tmp_path / "ok.json", type(run)(run.run_id, run.started_at, run.host)) as w:
        w.add_doc(run.docs[0])
    assert json.loads((tmp_path / "ok.json").read_text())["complete"] is True
    crash = JsonReportWriter(tmp_path / "crash.json", type(run)(run.run_id, run.started_at, run.host))
    with pytest.raises(RuntimeError), crash as w:
        w.add_doc(run.docs[0])
        raise RuntimeError("VM lost")
    crashed = json.loads((tmp_path / "crash.json").read_text())
    assert crashed["complete"] is False and len(crashed["docs"]) == 1


def test_the_documented_example_and_category_table_match_the_schema():
    readme = (ROOT / "README.md").read_text()
    doc = readme[readme.index("## The report: `report.json`"):]
    example = json.loads(doc.split("```json\n", 1)[1].split("```", 1)[0])
    validator().validate(example)
    from doctest_runner.model import CATEGORIES, category_group

    table = doc[doc.index("### Categories"):doc.index("### Example (one guide)")]
    rows = re.findall(r"^\| `([a-z-]+)` \| (doc|environment) \|", table, re.MULTILINE)
    assert sorted(rows) == sorted((c, category_group(c)) for c in CATEGORIES)
