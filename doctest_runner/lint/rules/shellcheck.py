"""Rule `shellcheck`: Debian's shellcheck on every step, limited to what matters in docs.

Speed: the steps of a plan that bash could parse go to ONE shellcheck process, concatenated
with a blank line between them, and each reported line is mapped back to its step and doc line.
If shellcheck's own parser gives up on the batch (it is stricter than bash in a few corners),
the steps are re-checked one by one so one step cannot hide the findings of the others; a step
bash parses but shellcheck cannot is left to the `syntax` rule (bash is the judge of syntax).

Only `warning` and `error` levels are kept (`-S warning`: info and style are about script
hygiene, not about a reader copying a snippet), minus the codes in IGNORED_CODES.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from doctest_runner.lint.context import LintContext, ShellStep
from doctest_runner.model import Finding

RULE = "shellcheck"

# Codes that are noise for copy-paste snippets, and why. -S warning already drops info/style
# (SC2086 quoting, SC1090/SC1091 source, SC2016 single quotes, SC2002 useless cat, SC2162 read -r...);
# they are listed too so the list reads as the full policy.
IGNORED_CODES: dict[int, str] = {
    2148: "no shebang: a snippet is typed into a shell, not saved as a script",
    2034: "variable appears unused: docs set variables the reader uses in later blocks",
    2154: "referenced but not assigned: the `placeholder` rule does this doc-wide, with sidecar vars",
    2024: "sudo does not affect redirects: the `sudo-redirect` rule does this, for privileged targets",
    2164: "cd without `|| exit`: a reader sees a failing cd, and the runner stops at the failing step",
    1090: "cannot follow a non-constant source: files on the reader's machine",
    1091: "not following a sourced file: files on the reader's machine",
    2086: "quote to prevent splitting (info): idiomatic unquoted $VAR in docs",
    2046: "quote $(...) to prevent splitting: `linux-headers-$(uname -r)` is the idiom",
    2155: "declare and assign separately: about masking exit codes in scripts",
    2174: "mkdir -p -m applies to the deepest dir only: `mkdir -p -m 755 /etc/apt/keyrings` is fine",
    2115: 'use "${var:?}" so rm never hits /: defensive scripting',
    2010: "ls | grep: used for display in docs",
    2045: "for over ls output: works for the plain file names docs handle",
    2044: "for over find output: same",
    2038: "find | xargs with odd names: same",
    2166: "prefer [ p ] && [ q ]: style",
    2207: "prefer mapfile over arr=( $(...) ): style",
    2206: "quote to avoid splitting into an array: style",
    2120: "function references arguments never passed: docs define helpers for the reader",
    2139: "alias expands when defined: what `alias k=...` in docs means",
    2016: "expressions do not expand in single quotes: usually intended in docs (writing configs)",
    2317: "command appears unreachable: steps are cut out of a longer session",
}

_PARSE_ABORT_CODES = {1072, 1073, 1088}  # shellcheck stopped parsing


@dataclass(frozen=True)
class Comment:
    index: int  # which text of the batch
    line: int  # 1-based line in that text
    column: int
    level: str
    code: int
    message: str


def shellcheck_path() -> str | None:
    return shutil.which("shellcheck")


def _run(texts: tuple[str, ...]) -> tuple[list[dict], bool]:
    """One shellcheck process on the concatenated texts: (comments, parse aborted?)."""
    exe = shellcheck_path()
    if exe is None:
        return [], False
    script = "\n\n".join(texts) + "\n"
    try:
        proc = _exec(exe, script)
    except (OSError, subprocess.TimeoutExpired):  # a broken shellcheck says nothing about the doc
        return [], False
    try:
        comments = json.loads(proc.stdout or "{}").get("comments", [])
    except json.JSONDecodeError:
        return [], True
    aborted = any(c.get("code") in _PARSE_ABORT_CODES for c in comments)
    return comments, aborted


def _exec(exe: str, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            exe,
            "-s",
            "bash",
            "-f",
            "json1",
            "-S",
            "warning",
            "-e",
            ",".join(f"SC{c}" for c in sorted(IGNORED_CODES)),
            "-",
        ],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,  # exit 1 just means "there are comments"
    )


@functools.lru_cache(maxsize=512)
def check_texts(texts: tuple[str, ...]) -> tuple[Comment, ...]:
    """shellcheck findings for each text, batch first, one by one if the batch does not parse."""
    if not texts:
        return ()
    comments, aborted = _run(texts)
    if aborted and len(texts) > 1:
        out: list[Comment] = []
        for i, text in enumerate(texts):
            out.extend(Comment(i, c.line, c.column, c.level, c.code, c.message) for c in check_texts((text,)))
        return tuple(out)
    if aborted:  # bash parses it, shellcheck cannot: leave syntax to bash
        return ()
    # first line of each text in the concatenation (texts are joined by one blank line)
    starts = []
    line = 1
    for text in texts:
        starts.append(line)
        line += text.count("\n") + 2
    out = []
    for c in comments:
        cline = int(c.get("line", 1))
        index = max(i for i, start in enumerate(starts) if start <= cline) if cline >= 1 else 0
        local = cline - starts[index] + 1
        local = min(local, texts[index].count("\n") + 1)  # on the separator line: the text before
        out.append(
            Comment(
                index,
                local,
                int(c.get("column", 1)),
                c.get("level", "warning"),
                int(c.get("code", 0)),
                c.get("message", ""),
            )
        )
    return tuple(out)


def check(ctx: LintContext) -> Iterator[Finding]:
    steps: list[ShellStep] = [s for s in ctx.shell if s.syntax is None and s.step.command.strip()]
    if not steps:
        return
    if shellcheck_path() is None:  # one note per doc (lint_paths keeps one per run)
        yield Finding(
            path=ctx.plan.path,
            line=1,
            rule=RULE,
            severity="info",
            message="shellcheck is not installed: shellcheck findings skipped",
            hint="apt-get install -y shellcheck",
        )
        return
    for c in check_texts(tuple(s.step.command for s in steps)):
        if c.code in IGNORED_CODES or c.level not in ("error", "warning"):
            continue
        s = steps[c.index]
        yield ctx.finding_at(
            s.step,
            s.step.source_line(c.line - 1),
            RULE,
            "error" if c.level == "error" else "warning",
            f"SC{c.code}: {c.message}",
            f"see https://www.shellcheck.net/wiki/SC{c.code}",
        )
