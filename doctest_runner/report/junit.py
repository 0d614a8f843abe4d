"""`junit.xml`: the run as CI systems display test results (schema: `junit.xsd`, Jenkins/Ant style).

One testsuite per guide (per image), one testcase per step named `path:line`, so a CI test
history tracks each documented step. Failure message `category: evidence`; failure text the
explanation and the output tail; skipped and not-run steps are <skipped> with their reason.
Every testcase also has `file` and `line` attributes (the failing line of a broken multi-line step,
a check's sidecar line, line 1 for a guide that could not run): GitLab's test report and GitHub's
JUnit actions read them to link a failed case to that line of the doc.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from doctest_runner.model import DocResult, RunResult, StepResult
from doctest_runner.report import data
from doctest_runner.report.json import atomic_write_text
from doctest_runner.text import clean_text, one_line

XSD_PATH = Path(__file__).with_name("junit.xsd")
MAX_SYSTEM_OUT = 200_000  # characters of output kept per step (the tail); artifacts hold the rest


def xml_text(text: str | None) -> str:
    """Text safe inside XML (doctest_runner.text): escapes removed, control characters XML 1.0 cannot carry
    and lone surrogates replaced."""
    return clean_text(text)


def xml_name(text: str | None) -> str:
    """A suite, case or class name: one line, cleaned like text (doc paths come from the docs tree)."""
    return one_line(text)


def _seconds(value: float | None) -> str:
    return f"{max(float(value or 0.0), 0.0):.3f}"


def _cut(output: str) -> str:
    if len(output) <= MAX_SYSTEM_OUT:
        return output
    cut = len(output) - MAX_SYSTEM_OUT
    return f"[... {cut} characters cut; the full output is in the artifacts]\n" + output[-MAX_SYSTEM_OUT:]


def _message(category: str, evidence: str | None) -> str:
    return f"{category}: {evidence}" if evidence else category


def case_name(doc: DocResult, sr: StepResult) -> str:
    """`path:line`, plus the step id's `#n` when one line holds several steps (names stay unique)."""
    tail = sr.step.id.rsplit(":", 1)[-1]
    suffix = tail[tail.index("#"):] if "#" in tail else ""
    return xml_name(f"{sr.step.path or doc.path}:{sr.step.line}{suffix}")


def _case(suite: ET.Element, name: str, doc: DocResult, file: str | None, line: int | None,
          duration_s: float | None = 0.0) -> ET.Element:
    """A testcase with the attributes every case carries: `file` and `line` are where a CI's test widget
    links it (the doc path as the other reports write it; line 1 when there is no better line)."""
    return ET.SubElement(
        suite,
        "testcase",
        name=name,
        classname=xml_name(doc.path),
        time=_seconds(duration_s),
        file=xml_name(file or doc.path),
        line=str(line if line and line > 0 else 1),
    )


def _step_case(suite: ET.Element, doc: DocResult, sr: StepResult) -> str:
    """Add one step's testcase; returns its outcome: passed | failure | error | skipped."""
    # a broken multi-line step points at its failing line, the one to fix; others at their first line
    line = data.step_line(sr) if data.is_broken(sr) else sr.step.line
    case = _case(suite, case_name(doc, sr), doc, sr.step.path or doc.path, line, sr.duration_s)
    outcome = "passed"
    if sr.status in ("skipped", "not-run"):
        ET.SubElement(case, "skipped", message=xml_text(data.reason(sr)))
        outcome = "skipped"
    elif data.is_broken(sr):
        category = data.category_of(sr) or "unknown"
        tag = "error" if sr.status == "error" else "failure"
        after = data.after_failure_text(sr.after_failure, sr.step.path or doc.path)
        message = _message(category, sr.evidence)
        if after:  # a cascade stays a failed case, and says which failure it follows from
            message = f"{category}: {after}: {sr.evidence or ''}".rstrip(": ")
        el = ET.SubElement(case, tag, message=xml_text(message), type=xml_name(category))
        body = [f"{data.location(sr)}: {sr.explanation or category}", "", "$ " + sr.step.command]
        if after:
            body.insert(1, after)
        tail = data.output_tail(sr)
        if tail:
            body += ["", tail]
        el.text = xml_text("\n".join(body))
        outcome = tag
    # an output warning does not fail the case: it leads the system-out instead
    if sr.output or sr.output_warning:
        out = sr.output
        if sr.output_warning:
            out = f"[output warning] {sr.output_warning}\n" + out
        ET.SubElement(case, "system-out").text = xml_text(_cut(out))
    return outcome


def _doc_suite(root: ET.Element, doc: DocResult, run: RunResult, index: int) -> dict[str, int]:
    suite = ET.SubElement(root, "testsuite", name=xml_name(doc.path))
    props = ET.SubElement(suite, "properties")
    for name, value in (("image", doc.image), ("status", doc.status), ("accel", run.host.accel),
                        ("run_id", run.run_id), ("artifacts", doc.artifacts or "")):
        if value:
            ET.SubElement(props, "property", name=name, value=xml_name(value))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    outcomes: list[str] = []
    if doc.error:
        case = _case(suite, xml_name(doc.path), doc, doc.path, 1)
        if doc.status == "skipped":
            ET.SubElement(case, "skipped", message=xml_text(doc.error))
            outcomes.append("skipped")
        else:
            ET.SubElement(case, "error", message=xml_text(doc.error), type="harness").text = xml_text(doc.error)
            outcomes.append("error")
    elif doc.status == "skipped" and not doc.steps:
        case = _case(suite, xml_name(doc.path), doc, doc.path, 1)
        ET.SubElement(case, "skipped", message="guide skipped")
        outcomes.append("skipped")
    for sr in doc.steps:
        outcomes.append(_step_case(suite, doc, sr))
    for cr in doc.checks:
        # a check is declared in the sidecar: its line there (the doc itself when it has no location)
        where_file, where_line = (cr.check.path, cr.check.line) if cr.check.path and cr.check.line else (doc.path, 1)
        case = _case(suite, xml_name(f"{doc.path}: check {cr.check.kind} {cr.check.target}"), doc,
                     where_file, where_line)
        if not cr.passed:
            where = f"{cr.check.path}:{cr.check.line}: " if cr.check.path and cr.check.line else ""
            ET.SubElement(case, "failure", message=xml_text(f"check: {cr.message}"), type="check").text = (
                xml_text(f"{where}{cr.check.kind} {cr.check.target}: {cr.message}")
            )
            outcomes.append("failure")
        else:
            outcomes.append("passed")
    counts["tests"] = len(outcomes)
    counts["failures"] = outcomes.count("failure")
    counts["errors"] = outcomes.count("error")
    counts["skipped"] = outcomes.count("skipped")
    suite.set("tests", str(counts["tests"]))
    suite.set("failures", str(counts["failures"]))
    suite.set("errors", str(counts["errors"]))
    suite.set("skipped", str(counts["skipped"]))
    suite.set("time", _seconds(doc.duration_s))
    suite.set("timestamp", xml_name(run.started_at))
    suite.set("id", str(index))
    suite.set("package", xml_name(doc.image))
    suite.set("hostname", xml_name(f"{doc.image} ({run.host.accel})"))
    return counts


def junit_xml(run: RunResult) -> str:
    """The whole run as a JUnit XML document (a string, XML declaration included)."""
    root = ET.Element("testsuites", name=xml_name(f"doctest-runner {run.run_id}"))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for i, doc in enumerate(run.docs):
        counts = _doc_suite(root, doc, run, i)
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(sum(d.duration_s or 0.0 for d in run.docs)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(run: RunResult, path: Path) -> Path:
    atomic_write_text(path, junit_xml(run))
    return path
