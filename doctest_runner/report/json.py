"""`report.json`: the stable, documented machine-readable report (schema: `schema.json`).

It is rewritten after every guide (write to a temporary file, then rename), so a run that
crashes or is killed still leaves a valid report with every finished guide in it and
`"complete": false`. Field names and meanings are documented in the README (section "The report: report.json"); add
fields, never rename or remove them, and bump SCHEMA_VERSION when a meaning changes.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from doctest_runner import __version__
from doctest_runner.fix import Fix, fix_record
from doctest_runner.model import CheckResult, DocResult, RunResult, StepResult, category_group
from doctest_runner.report import data
from doctest_runner.text import fix_surrogates

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("schema.json")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def step_dict(sr: StepResult, group: str | None = None) -> dict[str, Any]:
    """One step; `group` overrides the category's group (a cascade counts in its first failure's)."""
    step = sr.step
    category = data.category_of(sr)
    out: dict[str, Any] = {
        "id": step.id,
        "line": step.line,
        "end_line": step.end_line,
        "failed_line": sr.failed_line,
        "location": data.location(sr),
        "heading": list(step.heading),
        "command": step.command,
        "line_map": list(step.line_map),
        "kind": step.kind,
        "origin": step.origin,
        "alternative": step.alternative,
        "status": sr.status,
        "exit_code": sr.exit_code,
        "duration_s": round(float(sr.duration_s or 0.0), 3),
        "category": category,
        "group": group or category_group(category),
        "explanation": data.explanation(sr),
        "evidence": sr.evidence if data.is_broken(sr) or sr.evidence else None,
        "output_tail": data.output_tail(sr),
        "output_warning": sr.output_warning,
        "reason": data.reason(sr),
        "after_failure": sr.after_failure if data.is_broken(sr) else None,
    }
    if sr.fixes:  # run --suggest-fixes only: without it the report has no such key
        out["fixes"] = [fix_record(f) for f in sr.fixes if isinstance(f, Fix)]
    return out


def check_dict(cr: CheckResult) -> dict[str, Any]:
    return {
        "kind": cr.check.kind,
        "target": cr.check.target,
        "expect": {str(k): v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                   for k, v in cr.check.expect.items()},
        "passed": cr.passed,
        "message": cr.message,
        "path": cr.check.path or None,
        "line": cr.check.line or None,
    }


def doc_dict(doc: DocResult) -> dict[str, Any]:
    groups = data.doc_groups(doc)
    return {
        "path": doc.path,
        "image": doc.image,
        "status": doc.status,
        "duration_s": round(float(doc.duration_s or 0.0), 3),
        "error": doc.error,
        "artifacts": doc.artifacts,
        "counts": data.doc_counts(doc),
        "checks": [check_dict(c) for c in doc.checks],
        "steps": [step_dict(s, groups.get(s.step.id)) for s in doc.steps],
    }


def run_dict(run: RunResult, *, complete: bool = True, finished_at: str | None = None) -> dict[str, Any]:
    """The whole report as plain JSON data."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "doctest-runner", "version": __version__},
        "run_id": run.run_id,
        "started_at": run.started_at,
        "finished_at": finished_at,
        "complete": complete,
        "host": {
            "accel": run.host.accel,
            "why": run.host.why,
            "cpu_mode": run.host.cpu_mode,
            "nested": run.host.nested,
        },
        "summary": data.summary(run),
        "docs": [doc_dict(d) for d in run.docs],
    }


def atomic_write_text(path: Path, text: str) -> None:
    """Replace `path` in one step: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def dumps(obj: dict[str, Any]) -> str:
    # a lone surrogate (from a sidecar's YAML or JSON) cannot be written as UTF-8: U+FFFD (doctest_runner.text)
    return fix_surrogates(json.dumps(obj, indent=2, ensure_ascii=False)) + "\n"


def write_json_data(path: Path, obj: dict[str, Any]) -> Path:
    """Write a JSON file beside the reports (a shard's shard.json) the way report.json is written: atomically,
    indented, UTF-8 with lone surrogates replaced."""
    atomic_write_text(path, dumps(obj))
    return path


def write_json(run: RunResult, path: Path, *, complete: bool = True) -> Path:
    """Write a run's report.json; `complete=False` (a merge of shards that did not all finish) says so and
    leaves `finished_at` empty, as a run that died would."""
    return write_json_data(path, run_dict(run, complete=complete, finished_at=now_iso() if complete else None))


class JsonReportWriter:
    """Keeps report.json current during a run: one atomic rewrite per finished guide.

        writer = JsonReportWriter(out / "report.json", run)
        for plan in plans:
            writer.add_doc(run_guide(plan))
        writer.finish()

    If the process dies between guides, report.json holds every guide added so far and says
    `"complete": false`.
    """

    def __init__(self, path: Path | str, run: RunResult):
        self.path = Path(path)
        self.run = RunResult(run_id=run.run_id, started_at=run.started_at, host=run.host, docs=list(run.docs))
        self.finished = False
        self._write()

    def add_doc(self, doc: DocResult) -> None:
        self.run.docs.append(doc)
        self._write()

    def finish(self) -> Path:
        self.finished = True
        self._write(finished_at=now_iso())
        return self.path

    def _write(self, finished_at: str | None = None) -> None:
        atomic_write_text(self.path, dumps(run_dict(self.run, complete=self.finished, finished_at=finished_at)))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and not self.finished:
            self.finish()


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
