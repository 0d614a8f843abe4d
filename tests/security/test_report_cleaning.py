"""Issue 11, item 8: what a doc or the guest puts into a name cannot break the report that shows it.

A doc path, a check target and a step's output carrying a control character, a carriage return, a Unicode line
separator and a lone surrogate: junit.xml still parses and validates, checklist.md gains no heading or list
item, the terminal summary no line, report.html no control character; every writer finishes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from doctest_runner.model import Check, CheckResult, DocResult, HostInfo, RunResult, Step, StepResult
from doctest_runner.report import checklist_markdown, junit_xml, summary_text, write_all
from doctest_runner.report.html import report_html
from doctest_runner.report.junit import XSD_PATH
from doctest_runner.text import clean_text, one_line

HOSTILE = "\x01\r# injected heading\r- [ ] injected item\u2028## two\u2029\x85\ud800\x1b[31mred\x1b[0m\x7f"
DOC = f"docs/in{HOSTILE}stall.md"


def hostile_run() -> RunResult:
    step = Step(id=f"{DOC}:12", path=DOC, line=12, end_line=13, heading=(f"Set{HOSTILE}up",),
                command=f"echo one\nfalse{HOSTILE}", kind="bare", line_map=(12, 13))
    ok = Step(id=f"{DOC}:20", path=DOC, line=20, end_line=20, heading=("x",), command="true", kind="bare",
              line_map=(20,))
    check = Check(kind="file", target=f"/etc/app{HOSTILE}.conf", expect={"exists": True},
                  path=f"docs/in{HOSTILE}stall.doctest.yaml", line=4)
    doc = DocResult(
        path=DOC, image=f"debian-12{HOSTILE}", status="failed", duration_s=3.0,
        steps=[
            StepResult(step=step, status="failed", exit_code=1, failed_line=13, category="unknown",
                       explanation=f"exit 1{HOSTILE}", evidence=f"boom{HOSTILE}", output=f"one\n{HOSTILE}\nboom\n",
                       output_warning=None),
            StepResult(step=ok, status="passed", output="ok\n", output_warning=f"differs{HOSTILE}"),
        ],
        checks=[CheckResult(check=check, passed=False, message=f"does not exist{HOSTILE}")],
    )
    err = DocResult(path=f"docs/other{HOSTILE}.md", image="debian-12", status="error",
                    error=f"could not boot{HOSTILE}\nsecond line")
    return RunResult(run_id="20261130-000000-ab12", started_at="2026-11-30T00:00:00+00:00",
                     host=HostInfo(accel="tcg", why=f"no kvm{HOSTILE}"), docs=[doc, err])


def test_shared_cleaning():
    assert one_line("a\x01b\rc\u2028d\u2029e\x85f\ud800g\ttab") == "a\ufffdb c d e f\ufffdg tab"
    assert clean_text("a\r\nb\rc\u2028d") == "a\nb\nc\nd"
    assert clean_text("\ud83d\ude00") == "\U0001f600"  # a surrogate pair is joined, not replaced
    assert clean_text("\x1b[1mbold\x1b[0m") == "bold"
    assert clean_text(None) == ""


def test_junit_parses_and_validates(tmp_path):
    xml = junit_xml(hostile_run())
    xml.encode("utf-8")  # no lone surrogate left
    root = ET.fromstring(xml)
    names = [c.get("name") for c in root.iter("testcase")] + [s.get("name") for s in root.iter("testsuite")]
    assert names and all("\r" not in n and "\n" not in n and "\x01" not in n and "\u2028" not in n for n in names)
    assert any(n.startswith("docs/in\ufffd") for n in names)
    ET.fromstring(xml.encode("utf-8"))  # the bytes as written to junit.xml parse too (their encoding declared)
    xmlschema = pytest.importorskip("xmlschema")
    xmlschema.XMLSchema(str(XSD_PATH)).validate(xml)


def _structure(text: str, prefixes: tuple[str, ...]) -> list[str]:
    return [ln for ln in text.splitlines() if ln.lstrip().startswith(prefixes)]


def test_checklist_gains_no_heading_or_item():
    md = checklist_markdown(hostile_run())
    md.encode("utf-8")
    assert "injected" in md  # the text is there, as text
    headings = _structure(md, ("#",))
    items = _structure(md, ("- [",))
    # the title, "Doc bugs", the guide's heading, "Output warnings", "Guides that could not run"
    assert [h.split(" ", 1)[0] for h in headings] == ["#", "##", "###", "##", "##"]
    assert len(items) == 4  # the failed step, the failed check, the guide that could not run, the warning
    for bad in ("\r", "\u2028", "\u2029", "\x85", "\x01", "\x1b", "\x7f"):
        assert bad not in md
    # str.splitlines() breaks on every separator a renderer may honour: same count as plain \n lines
    assert len(md.splitlines()) == md.count("\n")


def test_terminal_summary_one_line_per_entry():
    text = summary_text(hostile_run())
    assert len(text.splitlines()) == text.count("\n") + 1
    lines = text.splitlines()
    fails = [ln for ln in lines if ln.startswith("  FAIL ")]
    assert len(fails) == 1 and "injected" in fails[0]
    entries = [ln.split()[0] for ln in lines if ln.startswith("  ") and not ln.startswith("    ")]
    assert entries == ["FAIL", "CHECK", "ERROR", "WARN"]
    # a multi-line harness error keeps its lines, indented under its entry so none reads as an entry
    error_at = next(i for i, ln in enumerate(lines) if ln.startswith("  ERROR "))
    assert lines[error_at + 1].startswith("    ") and "    second line" in lines


def test_every_writer_finishes(tmp_path):
    paths = write_all(hostile_run(), tmp_path)
    for fmt in ("junit", "html", "checklist"):
        text = paths[fmt].read_text(encoding="utf-8")
        assert "\x01" not in text and "\r" not in text and "\u2028" not in text
    html = report_html(hostile_run())
    assert "\x01" not in html and "\u2028" not in html and "\ud800" not in html
