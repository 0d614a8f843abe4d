"""Lint findings as text, JSON, GitHub workflow annotations or SARIF 2.1.0: one renderer per consumer.

* `text`: one `path:line: severity: [rule] message (hint: ...)` line each, then a summary (people, editors);
* `json`: the findings, unplanned paths and counts (scripts);
* `github`: `::error file=...,line=...,title=RULE::...` lines that GitHub Actions shows at the doc line of a
  pull request (`report/github.py` escapes them), then the summary line for the log;
* `sarif`: one SARIF 2.1.0 log for GitHub code scanning and other SARIF viewers, with a rule descriptor
  per lint rule (RULE_HELP: what it means to a doc writer).

Paths that could not be planned (a missing file, a sidecar rule that matches no step) are part of every
format: a `::error` line, an `errors` entry, or a SARIF tool execution notification.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from doctest_runner import __version__
from doctest_runner.lint.rules import RULES
from doctest_runner.model import DoctestError, Finding
from doctest_runner.report.github import Level, annotation
from doctest_runner.text import one_line, plural

FORMATS = ("text", "json", "github", "sarif")

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"  # the base of every relative artifact URI: the folder lint ran in
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_GITHUB_LEVEL: dict[str, Level] = {"error": "error", "warning": "warning", "info": "notice"}


def summary(findings: list[Finding], docs: int) -> str:
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')} in {plural(docs, 'doc')}"


def with_hint(f: Finding) -> str:
    return f"{f.message} (hint: {f.hint})" if f.hint else f.message


# -- text ----------------------------------------------------------------------------------------------------

def render_text(findings: list[Finding], docs: int) -> str:
    return "\n".join([str(f) for f in findings] + [summary(findings, docs)]) + "\n"


# -- json ----------------------------------------------------------------------------------------------------

def to_json(findings: list[Finding], errors: list[DoctestError], docs: int) -> dict:
    return {
        "findings": [
            {
                "path": f.path,
                "line": f.line,
                "rule": f.rule,
                "severity": f.severity,
                "message": f.message,
                "hint": f.hint,
                "step_id": f.step_id,
            }
            for f in findings
        ],
        "errors": [{"path": e.path, "line": e.line, "message": e.message} for e in errors],
        "summary": {
            "errors": sum(f.severity == "error" for f in findings),
            "warnings": sum(f.severity == "warning" for f in findings),
            "infos": sum(f.severity == "info" for f in findings),
            "docs": docs,
            "unplanned": len(errors),
        },
    }


def render_json(findings: list[Finding], errors: list[DoctestError], docs: int) -> str:
    return json.dumps(to_json(findings, errors, docs), indent=2) + "\n"


# -- github --------------------------------------------------------------------------------------------------

def github_lines(findings: list[Finding], errors: list[DoctestError]) -> list[str]:
    """One workflow command per finding (info findings as notices), then one `::error` per path that could
    not be planned, titled `parse` like the rule for unreadable input."""
    lines = [
        annotation(_GITHUB_LEVEL.get(f.severity, "notice"), with_hint(f), file=f.path, line=f.line, title=f.rule)
        for f in findings
    ]
    for e in errors:
        lines.append(annotation("error", e.message, file=e.path, line=e.line, title="parse"))
    return lines


def render_github(findings: list[Finding], errors: list[DoctestError], docs: int) -> str:
    return "\n".join(github_lines(findings, errors) + [summary(findings, docs)]) + "\n"


# -- sarif ---------------------------------------------------------------------------------------------------

# What each rule means to a doc writer (SARIF rule descriptors: code scanning shows them with each alert).
# Every rule in RULES needs one; tests/test_lint_formats.py fails when a new rule has none.
RULE_HELP: dict[str, tuple[str, str]] = {
    "syntax": (
        "bash cannot parse the step",
        "The reader's shell stops at this line with a syntax error, so the step and every step that builds on it "
        "fail. bash itself (`bash -n`) judges it.",
    ),
    "shellcheck": (
        "shellcheck finds a problem in the step",
        "shellcheck's warnings that matter in a guide: unquoted expansions, commands that cannot work as "
        "written, mistakes a reader copies along with the command.",
    ),
    "placeholder": (
        "the command holds a value the reader must fill in",
        "An angle-bracket placeholder (`<VERSION>`), a site generator's value the Markdown keeps "
        "(`{{< stableVersion >}}`) or a variable no earlier step sets: the step fails, or does the wrong "
        "thing, as written. Give the value in the doc, or with sidecar `vars:`.",
    ),
    "sudo-redirect": (
        "sudo does not apply to the redirect",
        "In `sudo cmd > /etc/file` the reader's own unprivileged shell opens the file, so it fails with "
        "Permission denied; pipe into `sudo tee` instead.",
    ),
    "apt-no-yes": (
        "apt changes packages without -y",
        "`apt`/`apt-get install` (remove, upgrade...) stops to ask for confirmation; when the steps are run "
        "unattended nobody answers, and the command aborts.",
    ),
    "install-no-yes": (
        "a package manager changes packages without its assume-yes option",
        "dnf, yum, zypper or pacman stop to ask for confirmation; when the steps are run unattended nobody "
        "answers, and the command aborts or hangs.",
    ),
    "interactive-tty": (
        "a container command asks for a terminal",
        "`docker run -it` (podman, nerdctl, ctr, kubectl, crictl alike) fails with \"the input device is not a "
        "TTY\" when no terminal is attached; drop -t, or mark the step pty.",
    ),
    "prompt-mixed": (
        "one block mixes prompt styles",
        "`$ ` next to `# `, or prompted lines next to bare ones, leave the reader guessing which lines are "
        "commands, which are output, and which run as root.",
    ),
    "prompt-typo": (
        "a prompt is glued to its command",
        "`$sudo apt ...`: a copy-paste of the line breaks, and only a guess takes the prompt apart.",
    ),
    "curl-pipe-shell": (
        "a downloaded script is piped into a shell",
        "`curl ... | bash` runs whatever the server sends at that moment, unreviewed, and a download cut short "
        "runs half a script; download it to a file and verify it first.",
    ),
    "prose-step": (
        "an instruction has no command",
        "The guide asks the reader to do something only in words (\"Unpack the downloaded archive.\"): nobody "
        "can test the guide past it. Add the command to the doc, or supply it with a sidecar `insert:` rule.",
    ),
    "output-in-shell-fence": (
        "a shell-labelled block holds output",
        "\"Example output:\" in a ```bash fence: readers and tools that trust the label take output for commands. "
        "Label it `text`, or `console` with the command after a `$ ` prompt.",
    ),
    "parse": (
        "the doc, an annotation or its sidecar cannot be read",
        "The planner could not turn this doc into steps here (a bad annotation, a sidecar rule that matches no "
        "step, unreadable Markdown), so it cannot be linted or run as meant.",
    ),
}


def artifact_location(path: str, root: Path) -> dict[str, str]:
    """A SARIF artifactLocation: relative to %SRCROOT% (the folder lint ran in) with `/` separators and
    percent-encoding, or a `file:` URI for a path outside it."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(root)
        except ValueError:
            return {"uri": p.as_uri()}
    # a name that is not UTF-8 (surrogate-escaped by Python) keeps its bytes, percent-encoded
    return {"uri": quote(p.as_posix(), safe="/", errors="surrogateescape"), "uriBaseId": SRCROOT}


def _region(line: int | None) -> dict[str, int]:
    return {"startLine": line if line and line > 0 else 1}


def sarif_log(findings: list[Finding], errors: list[DoctestError], *, root: Path) -> dict:
    """One SARIF 2.1.0 log with one run: the driver with every rule, a result per finding, and the paths
    that could not be planned as tool execution notifications (`executionSuccessful` false then)."""
    rule_ids = list(RULES) + sorted({f.rule for f in findings} - set(RULES))
    index = {rule: i for i, rule in enumerate(rule_ids)}
    rules = []
    for rule in rule_ids:
        short, full = RULE_HELP.get(rule, (rule, rule))
        rules.append({
            "id": rule,
            "name": rule,
            "shortDescription": {"text": one_line(short) or rule},
            "fullDescription": {"text": one_line(full) or rule},
            "defaultConfiguration": {"level": _SARIF_LEVEL.get(RULES.get(rule, "warning"), "warning")},
        })
    results = []
    for f in findings:
        result: dict = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _SARIF_LEVEL.get(f.severity, "note"),
            "message": {"text": one_line(with_hint(f))},
            "locations": [{"physicalLocation": {"artifactLocation": artifact_location(f.path, root),
                                                "region": _region(f.line)}}],
        }
        if f.step_id:
            result["properties"] = {"stepId": one_line(f.step_id)}
        results.append(result)
    notifications: list[dict] = []
    for e in errors:
        note: dict = {"level": "error", "message": {"text": one_line(e.message)}}
        if e.path:
            where: dict = {"artifactLocation": artifact_location(e.path, root)}
            if e.line:
                where["region"] = _region(e.line)
            note["locations"] = [{"physicalLocation": where}]
        if note not in notifications:  # the schema wants them unique
            notifications.append(note)
    root_uri = root.resolve().as_uri().rstrip("/") + "/"
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "doctest-runner",
                "semanticVersion": __version__,
                "version": __version__,
                "rules": rules,
            }},
            "originalUriBaseIds": {SRCROOT: {"uri": root_uri}},
            "invocations": [{
                "executionSuccessful": not errors,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    }


def render_sarif(findings: list[Finding], errors: list[DoctestError], *, root: Path) -> str:
    return json.dumps(sarif_log(findings, errors, root=root), indent=2, ensure_ascii=False) + "\n"


def render(fmt: str, findings: list[Finding], errors: list[DoctestError], docs: int, *, root: Path) -> str:
    """The findings in one of FORMATS, as the text to print."""
    if fmt == "text":
        return render_text(findings, docs)
    if fmt == "json":
        return render_json(findings, errors, docs)
    if fmt == "github":
        return render_github(findings, errors, docs)
    if fmt == "sarif":
        return render_sarif(findings, errors, root=root)
    raise ValueError(f"unknown lint format {fmt!r} (one of {', '.join(FORMATS)})")
