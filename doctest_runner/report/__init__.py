"""Reports from one run: report.json, junit.xml, report.html and checklist.md in one folder.

    from doctest_runner.report import JsonReportWriter, write_all
    writer = JsonReportWriter(out / "report.json", run)   # during the run: one rewrite per guide
    ...
    paths = write_all(run, out, codeowners=Path("CODEOWNERS"), source_root=Path("../docs"))

The runner writes artifacts/ itself; `summary_text(run)` in `report.terminal` is the console summary.
"""

from __future__ import annotations

from pathlib import Path

from doctest_runner.model import RunResult
from doctest_runner.report.checklist import checklist_markdown, write_checklist
from doctest_runner.report.codeowners import CodeOwners, load_codeowners
from doctest_runner.report.html import report_html, write_html
from doctest_runner.report.json import JsonReportWriter, run_dict, write_json
from doctest_runner.report.junit import junit_xml, write_junit
from doctest_runner.report.terminal import summary_text

FILES = {"json": "report.json", "junit": "junit.xml", "html": "report.html", "checklist": "checklist.md"}


def write_all(
    run: RunResult,
    out_dir: Path,
    *,
    codeowners: Path | None = None,
    source_root: Path | None = None,
) -> dict[str, Path]:
    """Write every report format into `out_dir`; returns {format: path}.

    A bad CODEOWNERS file raises DoctestError (one line, naming it) before anything is written.
    """
    out_dir = Path(out_dir)
    owners = load_codeowners(codeowners) if codeowners is not None else None
    out_dir.mkdir(parents=True, exist_ok=True)
    return {
        "json": write_json(run, out_dir / FILES["json"]),
        "junit": write_junit(run, out_dir / FILES["junit"]),
        "html": write_html(run, out_dir / FILES["html"], source_root=source_root),
        "checklist": write_checklist(run, out_dir / FILES["checklist"], codeowners=owners),
    }


__all__ = [
    "FILES",
    "CodeOwners",
    "JsonReportWriter",
    "checklist_markdown",
    "junit_xml",
    "load_codeowners",
    "report_html",
    "run_dict",
    "summary_text",
    "write_all",
    "write_json",
]
