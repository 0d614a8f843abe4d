"""`junit.xml`: the run as CI systems display test results (schema: `junit.xsd`, Jenkins/Ant style).

One testsuite per guide (per image), one testcase per step named `path:line`, so a CI test
history tracks each documented step. Failure message `category: evidence`; failure text the
explanation and the output tail; skipped and not-run steps are <skipped> with their reason.
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


def _step_case(suite: ET.Element, doc: DocResult, sr: StepResult) -> str:
    """Add one step's testcase; returns its outcome: passed | failure | error | skipped."""
    case = ET.SubElement(
        suite,
        "testcase",
        name=case_name(doc, sr),
        classname=xml_name(doc.path),
        time=_seconds(sr.duration_s),
    )
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
        case = ET.SubElement(suite, "testcase", name=xml_name(doc.path), classname=xml_name(doc.path),
                             time=_seconds(0))
        if doc.status == "skipped":
            ET.SubElement(case, "skipped", message=xml_text(doc.error))
            outcomes.append("skipped")
        else:
            ET.SubElement(case, "error", message=xml_text(doc.error), type="harness").text = xml_text(doc.error)
            outcomes.append("error")
    elif doc.status == "skipped" and not doc.steps:
        case = ET.SubElement(suite, "testcase", name=xml_name(doc.path), classname=xml_name(doc.path),
                             time=_seconds(0))
        ET.SubElement(case, "skipped", message="guide skipped")
        outcomes.append("skipped")
    for sr in doc.steps:
        outcomes.append(_step_case(suite, doc, sr))
    for cr in doc.checks:
        case = ET.SubElement(
            suite, "testcase", name=xml_name(f"{doc.path}: check {cr.check.kind} {cr.check.target}"),
            classname=xml_name(doc.path), time=_seconds(0),
        )
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
