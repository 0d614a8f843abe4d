"""Issue #11 item 7: no traceback from a deeply nested sidecar or a lone surrogate, and reports still written.

A sidecar nested 500 levels deep was a RecursionError; a lone surrogate (`"\\ud800"`, a YAML
escape) in a sidecar value crashed `list`, `lint` and the report writers, so no report was
written. Sidecars now refuse both with one line at the value's line; the report writers clean any
surrogate that reaches them (a merged report.json, a file name) and write every file.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from bounded import run_bounded
from untrusted import assert_one_line_error, put

from doctest_runner.model import Check, CheckResult, DocResult, HostInfo, RunResult, Step, StepResult
from doctest_runner.report import write_all
from doctest_runner.report.terminal import summary_text

GUIDE = "# Guide\n\n```bash\nls\n```\n"
NESTED = "steps:\n" + "".join("  " * (i + 1) + "- x:\n" for i in range(500)) + "  " * 501 + "- 1\n"

SURROGATE_SIDECARS = {  # value -> the line the error must name
    'image: "debian-\\ud800"\n': 1,
    'vars:\n  V: "a\\ud800b"\n': 2,
    'setup: "echo \\udfff"\n': 1,
    'cleanup:\n  - "echo ok"\n  - "echo \\ud800"\n': 3,
    'checks:\n  - file: "/etc/\\ud800"\n': 2,
    'checks:\n  - command: "true"\n    stdout_contains: "\\udc80"\n': 3,
    'steps:\n  - line: 4\n    skip: true\n    reason: "r\\ud800"\n': 4,
    'steps:\n  - command_re: "\\ud800"\n    skip: true\n': 2,
    '"\\ud800": 1\n': 1,  # a key
    'doc: "guide\\ud800.md"\n': 1,
}


@pytest.mark.parametrize("command", ["list", "lint"])
def test_sidecar_nested_500_levels(tmp_path, command):
    put(tmp_path, "guide.md", GUIDE)
    (tmp_path / "guide.doctest.yaml").write_text(NESTED)
    put(tmp_path, "other.md", "# Other\n\n```bash\necho other\n```\n")
    line = assert_one_line_error(run_bounded(command, "guide.md", "other.md", cwd=tmp_path))
    assert line.endswith("guide.doctest.yaml:33: YAML nested deeper than 64 levels"), line


@pytest.mark.parametrize("command", ["list", "lint"])
@pytest.mark.parametrize("sidecar", list(SURROGATE_SIDECARS))
def test_lone_surrogate_in_a_sidecar_value(tmp_path, command, sidecar):
    put(tmp_path, "guide.md", GUIDE)
    (tmp_path / "guide.doctest.yaml").write_text(sidecar)
    put(tmp_path, "other.md", "# Other\n\n```bash\necho other\n```\n")
    result = run_bounded(command, "guide.md", "other.md", cwd=tmp_path)
    line = assert_one_line_error(result, code=1)
    where = f"guide.doctest.yaml:{SURROGATE_SIDECARS[sidecar]}: "
    assert line.split(where, 1)[-1].startswith("YAML text holds a lone surrogate ("), line
    assert ("echo other" if command == "list" else "0 errors, 0 warnings in 1 doc") in result.out  # it goes on


def test_surrogate_pairs_written_as_escapes_are_one_character(tmp_path):
    put(tmp_path, "guide.md", "# Guide\n\n```bash\necho <EMOJI>\n```\n")
    put(tmp_path, "guide.doctest.yaml", 'vars:\n  EMOJI: "\\ud83d\\ude00"\n')
    result = run_bounded("list", "--json", "guide.md", cwd=tmp_path)
    assert result.code == 0, result.err
    assert json.loads(result.out)[0]["steps"][-1]["command"] == "echo \U0001F600"


def _run_with_surrogates() -> RunResult:
    bad = "\ud800"
    step = Step(id=f"docs/g{bad}.md:4", path=f"docs/g{bad}.md", line=4, end_line=4, heading=(f"Install {bad}",),
                command=f"echo {bad}", kind="bare", line_map=(4,), block_line=3)
    failed = StepResult(step=step, status="failed", exit_code=1, duration_s=0.5, failed_line=4,
                        category="command-error", explanation=f"exit 1 {bad}", evidence=f"no such {bad}",
                        output=f"out {bad}\n")
    check = CheckResult(check=Check(kind="file", target=f"/etc/{bad}", path=f"s{bad}.doctest.yaml", line=2),
                        passed=False, message=f"missing {bad}")
    doc = DocResult(path=f"docs/g{bad}.md", image="debian-12", status="failed", duration_s=1.0, steps=[failed],
                    checks=[check], error=None, artifacts=f"artifacts/g{bad}")
    other = DocResult(path="docs/error.md", image="debian-12", status="error", error=f"harness {bad}")
    return RunResult(run_id="r1", started_at="2026-01-01T00:00:00+00:00", host=HostInfo(accel="tcg", why=f"w{bad}"),
                     docs=[doc, other])


def test_report_writers_write_every_file_with_a_surrogate(tmp_path):
    paths = write_all(_run_with_surrogates(), tmp_path / "out")
    assert set(paths) == {"json", "junit", "html", "checklist"}
    for path in paths.values():
        text = path.read_bytes().decode("utf-8")  # valid UTF-8 throughout
        assert "\ud800" not in text
    report = json.loads(paths["json"].read_text())
    assert report["docs"][0]["steps"][0]["command"] == "echo \ufffd"
    assert report["docs"][1]["error"] == "harness \ufffd"
    suites = ET.parse(paths["junit"]).getroot()
    assert suites.find("testsuite").get("name") == "docs/g\ufffd.md"
    assert "docs/g\ufffd.md:4" in paths["checklist"].read_text()
    assert "echo \ufffd" in paths["html"].read_text()


def test_terminal_summary_with_a_surrogate_can_be_printed():
    text = summary_text(_run_with_surrogates())
    text.encode("utf-8")  # what print() to a UTF-8 stdout does
    assert "docs/g\ufffd.md:4" in text
