"""report.json back into model objects, so reports written elsewhere (shards) can be combined and re-rendered.

    loaded = read_report(Path("shard-1"))        # a folder holding report.json, or the file itself
    run_dict(run_from_dict(d)) == d              # for d = run_dict(x): nothing the report says is lost

What report.json does not hold cannot come back: full step output (only its 20-line tail), the
expected output and annotation options. Everything the reports render is there, and a failed step's
`fixes` (`run --suggest-fixes`) come back as the `fix.Fix` objects the runner attached, with all a
merge needs to write their patches and fixes.md again; a fix that contradicts itself or its step
(an edit of another doc, a verified fix holding a placeholder, a patch outside `fixes/`) is refused.
A malformed report is a DoctestError naming the file and the field (`docs[1].steps[3].status`),
never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doctest_runner.fix import Candidate, Edit, Fix, Verdict
from doctest_runner.model import (
    CATEGORIES,
    Check,
    CheckResult,
    DocResult,
    DoctestError,
    HostInfo,
    RunResult,
    Step,
    StepResult,
)
from doctest_runner.report.data import DOC_STATUSES, STEP_STATUSES
from doctest_runner.report.json import SCHEMA_VERSION

REPORT_NAME = "report.json"
STEP_KINDS = ("prompted", "bare", "file", "setup", "cleanup", "prose")
ORIGINS = ("doc", "sidecar")
VERDICTS = ("verified", "partial", "rejected")
EDIT_ROLES = ("command", "output")


class _Bad(Exception):
    """A field that is missing or of the wrong type; `where` is its JSON path."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")


_MISSING = object()


def _get(obj: dict[str, Any], key: str, types: tuple[type, ...], where: str, *, default: Any = _MISSING,
         choices: tuple[Any, ...] | None = None) -> Any:
    if not isinstance(obj, dict):
        raise _Bad(where, "expected an object")
    if key not in obj:
        if default is _MISSING:
            raise _Bad(f"{where}.{key}" if where else key, "missing")
        return default
    value = obj[key]
    at = f"{where}.{key}" if where else key
    # bool is an int in Python; a count or line given as true is still wrong
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
        raise _Bad(at, f"expected {names}, got {json.dumps(value)[:60]}")
    if choices is not None and value not in choices:
        raise _Bad(at, f"expected one of {', '.join(map(str, choices))}, got {json.dumps(value)[:60]}")
    return value


def _num(obj: dict[str, Any], key: str, where: str) -> float:
    return float(_get(obj, key, (int, float), where, default=0.0))


def _step_result(d: dict[str, Any], doc_path: str, where: str) -> StepResult:
    status = _get(d, "status", (str,), where, choices=STEP_STATUSES)
    line = _get(d, "line", (int,), where)
    failed_line = _get(d, "failed_line", (int, type(None)), where, default=None)
    location = _get(d, "location", (str,), where, default="")
    # report.json has no step path: it is the location's, which may differ from the doc's
    path, sep, _ = location.rpartition(":")
    if not sep or not path:
        path = doc_path
    reason = _get(d, "reason", (str, type(None)), where, default=None)
    explanation = _get(d, "explanation", (str, type(None)), where, default=None)
    if status in ("skipped", "not-run"):
        explanation = reason  # the report writes a skipped/not-run step's why as `reason` only
    step = Step(
        id=_get(d, "id", (str,), where),
        path=path,
        line=line,
        end_line=_get(d, "end_line", (int,), where, default=line),
        heading=tuple(_strings(_get(d, "heading", (list,), where, default=[]), f"{where}.heading")),
        command=_get(d, "command", (str,), where),
        line_map=tuple(int(n) for n in _get(d, "line_map", (list,), where, default=[]) if isinstance(n, int)),
        kind=_get(d, "kind", (str,), where, default="bare", choices=STEP_KINDS),
        origin=_get(d, "origin", (str,), where, default="doc", choices=ORIGINS),
        alternative=_get(d, "alternative", (str, type(None)), where, default=None),
        status="skip" if status == "skipped" else "run",
        reason=reason if status == "skipped" else None,
    )
    fixes = [_fix(f, step, status, f"{where}.fixes[{i}]")
             for i, f in enumerate(_get(d, "fixes", (list,), where, default=[]))]
    return StepResult(
        step=step,
        fixes=list(fixes),
        status=status,
        exit_code=_get(d, "exit_code", (int, type(None)), where, default=None),
        duration_s=_num(d, "duration_s", where),
        failed_line=failed_line,
        category=_get(d, "category", (str, type(None)), where, default=None),
        explanation=explanation,
        evidence=_get(d, "evidence", (str, type(None)), where, default=None),
        output=_get(d, "output_tail", (str,), where, default=""),
        output_warning=_get(d, "output_warning", (str, type(None)), where, default=None),
        after_failure=_get(d, "after_failure", (str, type(None)), where, default=None),
    )


def _edit(d: dict[str, Any], step: Step, where: str) -> Edit:
    """One edit of a fix; it must be of the failed step's doc and say what its lines held, so its patch can be
    rebuilt (and refused when the doc changed) from the report alone."""
    path = _get(d, "path", (str,), where)
    line = _get(d, "line", (int,), where)
    end_line = _get(d, "end_line", (int,), where)
    new = tuple(_strings(_get(d, "new", (list,), where), f"{where}.new"))
    old = tuple(_strings(_get(d, "old", (list,), where), f"{where}.old"))
    role = _get(d, "role", (str,), where, default="command", choices=EDIT_ROLES)
    anchor = _get(d, "anchor", (str,), where, default="")
    if path != step.path:
        raise _Bad(f"{where}.path", f"an edit of {path}, but the failed step is in {step.path}")
    if line < 1 or end_line < line - 1:
        raise _Bad(where, f"bad line range {line}..{end_line}")
    if end_line == line - 1:  # an insertion before `line`: it finds its place by the anchor's text
        if old or not anchor.strip() or role != "command":
            raise _Bad(where, "an insertion has no old lines, a command role and the text of the line it goes "
                       "before (anchor)")
    elif len(old) != end_line - line + 1:
        raise _Bad(f"{where}.old", f"{len(old)} line(s) for lines {line}..{end_line}")
    return Edit(path, line, end_line, old, new, role, anchor)


def _fix(d: dict[str, Any], step: Step, status: str, where: str) -> Fix:
    """One candidate fix of a failed step and its verdict, as the runner attached it (`run/fixes.attach`)."""
    if status not in ("failed", "error"):
        raise _Bad(where, f"a fix on a step that is {status}, not failed")
    edits = tuple(_edit(e, step, f"{where}.edits[{i}]")
                  for i, e in enumerate(_get(d, "edits", (list,), where)))
    duration = float(_get(d, "duration_s", (int, float), where))
    if duration < 0:
        raise _Bad(f"{where}.duration_s", "negative")
    cand = Candidate(
        step_id=step.id,
        category=_get(d, "category", (str,), where, choices=CATEGORIES),
        proposer=_get(d, "proposer", (str,), where),
        description=_get(d, "description", (str,), where),
        edits=edits,
        command=_get(d, "command", (str, type(None)), where),
        expected_output=_get(d, "expected_output", (str, type(None)), where, default=None),
        insert_before=tuple(_strings(_get(d, "insert_before", (list,), where), f"{where}.insert_before")),
        placeholder=_get(d, "placeholder", (bool,), where),
    )
    if not cand.proposer:
        raise _Bad(f"{where}.proposer", "empty")
    verdict = Verdict(
        status=_get(d, "verdict", (str,), where, choices=VERDICTS),
        reason=_get(d, "reason", (str,), where),
        before_line=_get(d, "before_line", (int, type(None)), where),
        after_line=_get(d, "after_line", (int, type(None)), where),
        duration_s=duration,
    )
    if verdict.status == "verified" and cand.placeholder:
        raise _Bad(f"{where}.verdict", "verified, but the fix holds a placeholder a person must fill")
    patch = _get(d, "patch", (str, type(None)), where)
    if patch is not None:
        parts = patch.split("/")
        if verdict.status != "verified" or not edits:
            raise _Bad(f"{where}.patch", f"a patch for a fix that is {verdict.status}, not verified")
        if parts[0] != "fixes" or not patch.endswith(".patch") or any(p in ("", ".", "..") for p in parts):
            raise _Bad(f"{where}.patch", f"expected fixes/<doc path>.patch, got {json.dumps(patch)[:60]}")
    return Fix(cand, verdict, patch)


def _strings(items: list[Any], where: str) -> list[str]:
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise _Bad(f"{where}[{i}]", "expected a string")
    return items


def _check_result(d: dict[str, Any], where: str) -> CheckResult:
    expect = _get(d, "expect", (dict,), where, default={})
    check = Check(
        kind=_get(d, "kind", (str,), where),
        target=_get(d, "target", (str,), where),
        expect=dict(expect),
        path=_get(d, "path", (str, type(None)), where, default=None) or "",
        line=_get(d, "line", (int, type(None)), where, default=None) or 0,
    )
    return CheckResult(check, passed=_get(d, "passed", (bool,), where),
                       message=_get(d, "message", (str,), where, default=""))


def _doc_result(d: dict[str, Any], where: str) -> DocResult:
    path = _get(d, "path", (str,), where)
    return DocResult(
        path=path,
        image=_get(d, "image", (str,), where),
        status=_get(d, "status", (str,), where, choices=DOC_STATUSES),
        duration_s=_num(d, "duration_s", where),
        steps=[_step_result(s, path, f"{where}.steps[{i}]")
               for i, s in enumerate(_get(d, "steps", (list,), where, default=[]))],
        checks=[_check_result(c, f"{where}.checks[{i}]")
                for i, c in enumerate(_get(d, "checks", (list,), where, default=[]))],
        error=_get(d, "error", (str, type(None)), where, default=None),
        artifacts=_get(d, "artifacts", (str, type(None)), where, default=None),
    )


def run_from_dict(data: dict[str, Any], source: str | None = None) -> RunResult:
    """The RunResult a report.json dict describes; `source` names the file in errors."""
    try:
        host = _get(data, "host", (dict,), "")
        return RunResult(
            run_id=_get(data, "run_id", (str,), ""),
            started_at=_get(data, "started_at", (str,), ""),
            host=HostInfo(
                accel=_get(host, "accel", (str,), "host"),
                why=_get(host, "why", (str,), "host"),
                cpu_mode=_get(host, "cpu_mode", (str,), "host", default=""),
                nested=_get(host, "nested", (str, type(None)), "host", default=None),
            ),
            docs=[_doc_result(d, f"docs[{i}]") for i, d in enumerate(_get(data, "docs", (list,), ""))],
        )
    except _Bad as exc:
        raise DoctestError(f"not a valid report: {exc}", source) from None


@dataclass
class LoadedReport:
    """A report.json read back: the run plus what only the file knows (was the run finished?)."""

    path: Path  # the report.json file
    schema_version: int
    run: RunResult
    complete: bool
    finished_at: str | None
    tool_version: str | None


def read_report(path: Path | str) -> LoadedReport:
    """Read `path` (a report folder or a report.json file); DoctestError naming it when it cannot be used."""
    p = Path(path)
    file = p / REPORT_NAME if p.is_dir() else p
    if not file.is_file():
        raise DoctestError(f"no {REPORT_NAME} here" if p.is_dir() else "no such report file or folder", str(p))
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DoctestError(f"cannot read: {exc}", str(file)) from None
    except json.JSONDecodeError as exc:
        raise DoctestError(f"not JSON: {exc.msg}", str(file), exc.lineno) from None
    if not isinstance(data, dict):
        raise DoctestError("not a doctest-runner report (not a JSON object)", str(file))
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise DoctestError("not a doctest-runner report (no schema_version)", str(file))
    if not 1 <= version <= SCHEMA_VERSION:  # older versions only lack fields; newer may mean other things
        raise DoctestError(f"schema_version {version} is newer than this doctest-runner reads "
                           f"({SCHEMA_VERSION})" if version > SCHEMA_VERSION else f"bad schema_version {version}",
                           str(file))
    run = run_from_dict(data, str(file))
    raw_tool = data.get("tool")
    tool = raw_tool if isinstance(raw_tool, dict) else {}
    return LoadedReport(
        path=file,
        schema_version=version,
        run=run,
        complete=data.get("complete") is True,
        finished_at=data.get("finished_at") if isinstance(data.get("finished_at"), str) else None,
        tool_version=tool.get("version") if isinstance(tool.get("version"), str) else None,
    )
