"""`doctest-runner lint`: exit codes 0/1/2, text lines, summary and JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from doctest_runner.cli import main

DATA = Path(__file__).resolve().parent / "data" / "lint"


def test_clean_doc_exits_0_with_summary(capsys):
    assert main(["lint", str(DATA / "clean.md")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["0 errors, 0 warnings in 1 doc"]


def test_problems_exit_1_one_line_per_finding(capsys):
    assert main(["lint", str(DATA / "problems.md")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1].endswith("in 1 doc") and out[-1].startswith(tuple("123456789"))
    lines = out[:-1]
    assert any(line.startswith(f"{DATA / 'problems.md'}:6: error: [apt-no-yes] ") for line in lines) or any(
        ":6: error: [apt-no-yes] " in line for line in lines
    )
    assert all("(hint: " in line for line in lines)
    # sorted by line
    nums = [int(line.split(":")[1]) for line in lines]
    assert nums == sorted(nums)


def test_severity_filter_hides_warnings_but_keeps_exit_status(capsys):
    assert main(["lint", "--severity", "error", str(DATA / "problems.md")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert all(": error: " in line for line in out[:-1])
    assert out[-1].split(", ")[1].startswith("0 warnings")


def test_json_shape(capsys):
    assert main(["lint", "--json", str(DATA / "problems.md"), str(DATA / "clean.md")]) == 1
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"findings", "errors", "summary"}
    assert data["errors"] == []
    assert data["summary"]["docs"] == 2
    assert data["summary"]["errors"] == sum(f["severity"] == "error" for f in data["findings"]) > 0
    for f in data["findings"]:
        assert set(f) == {"path", "line", "rule", "severity", "message", "hint", "step_id"}
        assert f["path"].endswith("problems.md") and isinstance(f["line"], int)
    assert {"apt-no-yes", "sudo-redirect", "prose-step"} <= {f["rule"] for f in data["findings"]}


def test_nothing_to_lint_exits_2(tmp_path, capsys):
    assert main(["lint", str(tmp_path)]) == 2
    assert "nothing to lint" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["lint"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--severity", "loud", str(DATA / "clean.md")])
    assert exc.value.code == 2


def test_missing_file_is_one_line_error_and_others_still_linted(capsys):
    code = main(["lint", str(DATA / "no-such.md"), str(DATA / "clean.md")])
    captured = capsys.readouterr()
    assert code == 1  # a path that cannot be linted is a failure, but the good doc was still linted
    err = [line for line in captured.err.splitlines() if line]
    assert len(err) == 1 and "no-such.md" in err[0] and "Traceback" not in captured.err
    assert captured.out.splitlines()[-1] == "0 errors, 0 warnings in 1 doc"
