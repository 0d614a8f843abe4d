"""junit.xml: valid against the shipped Jenkins/Ant-style XSD, one case per step named path:line."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from doctest_runner.model import DocResult, HostInfo, RunResult, Step, StepResult
from doctest_runner.report import junit_xml, write_all
from doctest_runner.report.junit import XSD_PATH
from report_sample import sample

xmlschema = pytest.importorskip("xmlschema")


def schema():
    return xmlschema.XMLSchema(str(XSD_PATH))


def test_validates_against_the_xsd(tmp_path):
    paths = write_all(sample().make_run(), tmp_path)
    schema().validate(str(paths["junit"]))


def test_xsd_is_not_vacuous():
    s = schema()
    xml = junit_xml(sample().make_run())
    assert s.is_valid(xml)
    assert not s.is_valid(xml.replace('tests="7"', 'tests="seven"', 1))
    assert not s.is_valid(xml.replace("<testcase ", "<testcas ", 1).replace("</testcase>", "</testcas>", 1))
    # element order inside a testcase matters in this format: failure before system-out
    root = ET.fromstring(xml)
    case = root.find(".//testcase[failure]")
    failure, out = case.find("failure"), case.find("system-out")
    case.remove(failure)
    case.append(failure)
    assert out is not None and not s.is_valid(ET.tostring(root, encoding="unicode"))


def test_structure_names_and_messages():
    root = ET.fromstring(junit_xml(sample().make_run()))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "docs/installation.md", "docs/install/container-manager/containerd/containerd-install.md",
        "docs/Developer-Guide.md", "docs/install/minikube-installation-guide.md"]
    install = suites[0]
    cases = install.findall("testcase")
    assert [c.get("name") for c in cases[:5]] == [
        "docs/installation.md:44", "docs/installation.md:50", "docs/installation.md:210",
        "docs/installation.md:289", "docs/installation.md:290"]
    assert all(c.get("classname") == "docs/installation.md" for c in cases)
    install_fail = cases[3].find("failure")
    assert install_fail.get("message") == "service: Failed to restart docker.service: Unit docker.service not found."
    assert install_fail.get("type") == "service"
    assert install_fail.text.startswith("docs/installation.md:289: unit docker.service does not exist")
    assert "Failed to restart docker.service" in cases[3].find("system-out").text
    assert cases[4].find("skipped").get("message") == "not run: an earlier step failed"
    # a failed sidecar check is its own failing case
    assert cases[5].get("name") == "docs/installation.md: check service docker"
    assert cases[5].find("failure") is not None and cases[6].find("failure") is None
    assert (install.get("tests"), install.get("failures"), install.get("errors"), install.get("skipped")) == (
        "7", "4", "0", "1")
    skipped = suites[2].find("testcase/skipped")
    assert skipped.get("message") == "requires kvm; this host has none"
    error = suites[3].find("testcase/error")
    assert error.get("message").startswith("VM did not boot")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("10", "5", "1")


def test_control_characters_and_markup_in_output_stay_valid():
    step = Step(id="g.md:3", path="g.md", line=3, end_line=3, heading=(), command="printf '\\x01\\x1b[31m<&>'",
                kind="bare")
    out = "\x01\x07\x1b[31m<b>&amp;</b>\x1b[0m ]]> \ud7ff\r\nend\n"
    run = RunResult("r1", "2026-11-28T00:00:00Z", HostInfo("tcg", "no vmx"),
                    [DocResult("g.md", "debian-12", "failed", 1.0, [
                        StepResult(step, "failed", exit_code=1, category="unknown", explanation="x",
                                   evidence="<b>&amp;</b> ]]>", output=out)])])
    xml = junit_xml(run)
    schema().validate(xml)
    case = ET.fromstring(xml).find(".//testcase")
    assert case.find("failure").get("message") == "unknown: <b>&amp;</b> ]]>"
    assert case.find("system-out").text == "\ufffd\ufffd<b>&amp;</b> ]]> \ud7ff\nend\n"


def test_several_steps_on_one_line_keep_unique_names():
    def st(sid: str) -> StepResult:
        step = Step(id=sid, path="g.md", line=7, end_line=7, heading=(), command="a; b", kind="bare")
        return StepResult(step, "passed", exit_code=0)

    run = RunResult("r1", "t", HostInfo("tcg", "no vmx"),
                    [DocResult("g.md", "debian-12", "passed", 1.0, [st("g.md:7"), st("g.md:7#2")])])
    names = [c.get("name") for c in ET.fromstring(junit_xml(run)).iter("testcase")]
    assert names == ["g.md:7", "g.md:7#2"]


def test_every_case_of_a_run_carries_file_and_line(tmp_path):
    """The junit.xml that `write_all` writes for the sample run (steps, a failed and a passed check, a skipped
    step, a guide whose VM did not boot) validates, and every testcase says where it is written."""
    paths = write_all(sample().make_run(), tmp_path)
    schema().validate(str(paths["junit"]))
    cases = ET.parse(paths["junit"]).getroot().findall(".//testcase")
    assert len(cases) == 10
    assert all(c.get("file") and int(c.get("line")) >= 1 for c in cases)
    where = {c.get("name"): (c.get("file"), c.get("line")) for c in cases}
    assert where["docs/installation.md:44"] == ("docs/installation.md", "44")
    # a broken multi-line step points at its failing line; a passing one at its first line
    assert where["docs/installation.md:210"] == ("docs/installation.md", "224")
    assert where["docs/installation.md:50"] == ("docs/installation.md", "50")
    assert where["docs/installation.md:290"] == ("docs/installation.md", "290")  # not run
    assert where["docs/Developer-Guide.md:554"] == ("docs/Developer-Guide.md", "554")  # skipped
    # a check at its sidecar line; a guide that could not run at the top of the guide
    assert where["docs/installation.md: check service docker"] == ("docs/installation.doctest.yaml", "7")
    assert where["docs/installation.md: check file /opt/kata"] == ("docs/installation.doctest.yaml", "4")
    assert where["docs/install/minikube-installation-guide.md"] == ("docs/install/minikube-installation-guide.md",
                                                                    "1")


def test_xsd_requires_file_and_line_on_a_testcase():
    s = schema()
    xml = junit_xml(sample().make_run())
    root = ET.fromstring(xml)
    for attr, bad in (("file", None), ("line", None), ("line", "0"), ("line", "x")):
        broken = ET.fromstring(xml)
        case = broken.find(".//testcase")
        if bad is None:
            del case.attrib[attr]
        else:
            case.set(attr, bad)
        assert not s.is_valid(ET.tostring(broken, encoding="unicode")), (attr, bad)
    assert s.is_valid(ET.tostring(root, encoding="unicode"))


def test_sidecar_setup_steps_point_at_the_sidecar():
    """A step from a sidecar's `setup:` has the sidecar as its path: its case's file is the sidecar."""
    step = Step(id="g.doctest.yaml:4", path="g.doctest.yaml", line=4, end_line=4, heading=(), command="true",
                kind="setup", origin="sidecar")
    run = RunResult("r1", "t", HostInfo("tcg", "no vmx"),
                    [DocResult("g.md", "debian-12", "passed", 1.0, [StepResult(step, "passed", exit_code=0)])])
    case = ET.fromstring(junit_xml(run)).find(".//testcase")
    assert (case.get("file"), case.get("line"), case.get("classname")) == ("g.doctest.yaml", "4", "g.md")
