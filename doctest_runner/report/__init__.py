"""Reports from one run: report.json, junit.xml, report.html and checklist.md in one folder.

    from doctest_runner.report import JsonReportWriter, write_all
    writer = JsonReportWriter(out / "report.json", run)   # during the run: one rewrite per guide
    ...
    paths = write_all(run, out, codeowners=Path("CODEOWNERS"), source_root=Path("../docs"))

The public face is the list below: the runner writes artifacts/ through `fresh_artifacts_dir` / `real_dir`,
prints `summary_text(run)`, and CI annotations go through `emit` (`github`, a public submodule, formats
GitHub workflow commands, for lint too); `merge` reads shard reports back with `read_report` and writes
them with `write_all(..., complete=False)` when a shard is missing; a shard's shard.json is written with
`write_json_data`, the same atomic, surrogate-safe way as report.json.
"""

from __future__ import annotations

from pathlib import Path

from doctest_runner.model import RunResult
from doctest_runner.report import github
from doctest_runner.report.annotations import emit
from doctest_runner.report.checklist import checklist_markdown, write_checklist
from doctest_runner.report.codeowners import CodeOwners, load_codeowners
from doctest_runner.report.html import report_html, write_html
from doctest_runner.report.json import JsonReportWriter, run_dict, write_json, write_json_data
from doctest_runner.report.junit import junit_xml, write_junit
from doctest_runner.report.load import LoadedReport, read_report
from doctest_runner.report.outdir import fresh_artifacts_dir, real_dir
from doctest_runner.report.terminal import summary_text

FILES = {"json": "report.json", "junit": "junit.xml", "html": "report.html", "checklist": "checklist.md"}


def write_all(
    run: RunResult,
    out_dir: Path,
    *,
    codeowners: Path | None = None,
    source_root: Path | None = None,
    complete: bool = True,
) -> dict[str, Path]:
    """Write every report format into `out_dir`; returns {format: path}.

    A bad CODEOWNERS file raises DoctestError (one line, naming it) before anything is written.
    `complete=False` marks report.json as not complete (a merge that misses a shard).
    """
    out_dir = Path(out_dir)
    owners = load_codeowners(codeowners) if codeowners is not None else None
    out_dir.mkdir(parents=True, exist_ok=True)
    return {
        "json": write_json(run, out_dir / FILES["json"], complete=complete),
        "junit": write_junit(run, out_dir / FILES["junit"]),
        "html": write_html(run, out_dir / FILES["html"], source_root=source_root),
        "checklist": write_checklist(run, out_dir / FILES["checklist"], codeowners=owners),
    }


__all__ = [
    "FILES",
    "CodeOwners",
    "JsonReportWriter",
    "LoadedReport",
    "checklist_markdown",
    "emit",
    "fresh_artifacts_dir",
    "github",
    "junit_xml",
    "load_codeowners",
    "read_report",
    "real_dir",
    "report_html",
    "run_dict",
    "summary_text",
    "write_all",
    "write_json",
    "write_json_data",
]
