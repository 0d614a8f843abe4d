"""Rule `shellcheck`: Debian's shellcheck on every step, limited to what matters in docs.

Speed: the steps of a plan that bash could parse go to few shellcheck processes, each a batch
of steps concatenated with a blank line between them, and each reported line is mapped back to
its step and doc line. If shellcheck's own parser gives up on a batch (it is stricter than bash
in a few corners), the batch is split in halves until the step is found, so one step cannot hide
the findings of the others; a step bash parses but shellcheck cannot is left to the `syntax` rule
(bash is the judge of syntax).

Limits (docs come from anyone; README "Running on untrusted docs"): shellcheck's time and memory
grow with the square of its input (a 100 KB batch took 10 s and 1.2 GB, a 5 MB doc in one batch
over 8 GB) and exponentially with nested command substitutions (`$(echo $(echo ...))`: twice
the time per level, 8 s at 12 levels, 4.5 GB at 500). So batches stay under BATCH_CHARS; a step
over MAX_STEP_CHARS, or nested deeper than MAX_SUBST_NESTING / MAX_NESTING (a linear scan,
`shell.nesting`), is not given to shellcheck and gets a warning saying so; and every shellcheck
process runs under an address-space limit and a timeout, whose excess also becomes such a
warning. The doc's time budget (`LintContext.deadline`) bounds the whole rule.

Only `warning` and `error` levels are kept (`-S warning`: info and style are about script
hygiene, not about a reader copying a snippet), minus the codes in IGNORED_CODES.
"""

from __future__ import annotations

import bisect
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

from doctest_runner.lint.context import LintBudgetExceeded, LintContext, ShellStep
from doctest_runner.model import Finding
from doctest_runner.shell import nesting

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

MAX_STEP_CHARS = 32 * 1024  # a longer step is not given to shellcheck (32 KB: about 3 s, 250 MB)
MAX_SUBST_NESTING = 6  # $( ), ` `, <( ) inside each other (6: 0.3 s; each level doubles it)
MAX_NESTING = 50  # any grouping: ( ), { }, ${ }, $(( )), if/case/loops, substitutions
BATCH_CHARS = 8 * 1024  # steps per shellcheck process, by size (8 KB: about 0.5 s, 40 MB)
MEMORY_LIMIT_BYTES = 512 * 1024 * 1024  # address space of one shellcheck process
PROCESS_TIMEOUT_S = 20.0  # one shellcheck process

_UNCHECKED = "unchecked"  # Comment.level of a step shellcheck could not check within its limits


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


def _run(texts: tuple[str, ...], deadline: float | None = None) -> tuple[list[dict], str, str]:
    """One shellcheck process on the concatenated texts: (comments, status, why).

    status: "ok"; "aborted" (shellcheck's parser gave up); "limit" (out of memory or time: `why`
    says which); "budget" (the doc's deadline passed)."""
    exe = shellcheck_path()
    if exe is None:
        return [], "ok", ""
    timeout = PROCESS_TIMEOUT_S
    if deadline is not None:
        timeout = min(timeout, deadline - time.monotonic())
        if timeout <= 0:
            return [], "budget", ""
    script = "\n\n".join(texts) + "\n"
    try:
        proc = _exec(exe, script, timeout)
    except subprocess.TimeoutExpired:
        if deadline is not None and time.monotonic() >= deadline - 0.01:
            return [], "budget", ""
        return [], "limit", f"shellcheck took longer than {PROCESS_TIMEOUT_S:g} s"
    except OSError:  # a broken shellcheck says nothing about the doc
        return [], "ok", ""
    if _out_of_memory(proc):
        return [], "limit", f"shellcheck needed more than {MEMORY_LIMIT_BYTES >> 20} MiB"
    try:
        comments = json.loads(proc.stdout or "{}").get("comments", [])
    except json.JSONDecodeError:
        return [], "aborted", ""
    aborted = any(c.get("code") in _PARSE_ABORT_CODES for c in comments)
    return comments, "aborted" if aborted else "ok", ""


def _out_of_memory(proc: subprocess.CompletedProcess[str]) -> bool:
    """GHC's runtime says "out of memory" (exit 251) when the address-space limit stops it, and
    refuses to start below about 72 MiB ("the current resource limit for virtual memory")."""
    err = proc.stderr or ""
    return proc.returncode == 251 or proc.returncode < 0 or "out of memory" in err or "resource limit" in err


def _exec(exe: str, script: str, timeout: float = PROCESS_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Nothing but the script decides the findings, and shellcheck reads no host file: `--norc` and an empty
    working folder (no `.shellcheckrc` from the docs tree, the cwd or $HOME), no `-x` and no `--source-path`
    (a `# shellcheck source=/etc/...` directive is not followed), no SHELLCHECK_OPTS.

    Memory: `sh -c 'ulimit -v'` sets RLIMIT_AS and execs shellcheck, rather than `preexec_fn`
    calling `resource.setrlimit`, because lint runs docs in threads and `preexec_fn` is not safe
    with threads (the child may deadlock before exec); the limit and the exec are the same."""
    env = {k: v for k, v in os.environ.items() if k != "SHELLCHECK_OPTS"}
    with tempfile.TemporaryDirectory(prefix="doctest-shellcheck-") as empty:
        return subprocess.run(
            [
                "/bin/sh",
                "-c",
                'ulimit -v "$1" && shift && exec "$@"',
                "doctest-runner-shellcheck",
                str(MEMORY_LIMIT_BYTES // 1024),
                exe,
                "--norc",
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
            timeout=timeout,
            check=False,  # exit 1 just means "there are comments"
            cwd=empty,
            env=env,
        )


_CACHE: dict[tuple[str, ...], tuple[Comment, ...]] = {}
_CACHE_MAX = 512
_CACHE_LOCK = threading.Lock()


def check_texts(texts: tuple[str, ...], deadline: float | None = None) -> tuple[Comment, ...]:
    """shellcheck findings for each text, in batches of at most BATCH_CHARS (one text per batch when
    it is larger). A text shellcheck could not check within its limits gets one Comment of level
    "unchecked" saying why. Raises LintBudgetExceeded when `deadline` passes."""
    out: list[Comment] = []
    for start, batch in _batches(texts):
        out.extend(c if start == 0 else replace(c, index=c.index + start) for c in _check_batch(batch, deadline))
    return tuple(out)


def _batches(texts: tuple[str, ...]) -> list[tuple[int, tuple[str, ...]]]:
    """(index of the first text, texts) for consecutive runs of texts up to BATCH_CHARS together."""
    out: list[tuple[int, tuple[str, ...]]] = []
    first, size = 0, 0
    for i, text in enumerate(texts):
        if i > first and size + len(text) > BATCH_CHARS:
            out.append((first, texts[first:i]))
            first, size = i, 0
        size += len(text) + 2
    if first < len(texts):
        out.append((first, texts[first:]))
    return out


def _check_batch(texts: tuple[str, ...], deadline: float | None) -> tuple[Comment, ...]:
    with _CACHE_LOCK:
        hit = _CACHE.get(texts)
    if hit is not None:
        return hit
    result = _check_uncached(texts, deadline)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[texts] = result
    return result


def _check_uncached(texts: tuple[str, ...], deadline: float | None) -> tuple[Comment, ...]:
    comments, status, why = _run(texts, deadline)
    if status == "budget":
        raise LintBudgetExceeded()
    if status == "aborted" and len(texts) > 1:
        # halves, so k steps shellcheck cannot parse cost about k*log(n) runs, not n
        mid = len(texts) // 2
        right = _check_batch(texts[mid:], deadline)
        return _check_batch(texts[:mid], deadline) + tuple(replace(c, index=c.index + mid) for c in right)
    if status == "aborted":  # bash parses it, shellcheck cannot: leave syntax to bash
        return ()
    if status == "limit":
        if len(texts) == 1:
            return (Comment(0, 1, 1, _UNCHECKED, 0, why),)
        # one by one: halving would meet the slow step again at every level, each time at full cost
        out: list[Comment] = []
        for i, text in enumerate(texts):
            out.extend(replace(c, index=i) for c in _check_batch((text,), deadline))
        return tuple(out)
    # first line of each text in the concatenation (texts are joined by one blank line)
    starts = []
    line = 1
    for text in texts:
        starts.append(line)
        line += text.count("\n") + 2
    out = []
    for c in comments:
        cline = int(c.get("line", 1))
        index = max(0, bisect.bisect_right(starts, cline) - 1)
        local = cline - starts[index] + 1
        local = min(max(local, 1), texts[index].count("\n") + 1)  # on the separator line: the text before
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


# ----------------------------------------------------------------------------- screening

def too_complex(text: str) -> str | None:
    """Why `text` is not given to shellcheck (None: it is)."""
    if len(text) > MAX_STEP_CHARS:
        return f"the step is {len(text) // 1024} KiB long (limit {MAX_STEP_CHARS // 1024} KiB)"
    subst, depth = nesting(text)
    if subst > MAX_SUBST_NESTING:
        return f"command substitutions nested {subst} deep (limit {MAX_SUBST_NESTING})"
    if depth > MAX_NESTING:
        return f"nested {depth} levels deep (limit {MAX_NESTING})"
    return None


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
    checked: list[ShellStep] = []
    for s in steps:
        why = too_complex(s.step.command)
        if why is None:
            checked.append(s)
        else:
            yield _unchecked(ctx, s, why)
    for c in check_texts(tuple(s.step.command for s in checked), ctx.deadline):
        s = checked[c.index]
        if c.level == _UNCHECKED:
            yield _unchecked(ctx, s, c.message)
            continue
        if c.code in IGNORED_CODES or c.level not in ("error", "warning"):
            continue
        yield ctx.finding_at(
            s.step,
            s.step.source_line(c.line - 1),
            RULE,
            "error" if c.level == "error" else "warning",
            f"SC{c.code}: {c.message}",
            f"see https://www.shellcheck.net/wiki/SC{c.code}",
        )


def _unchecked(ctx: LintContext, s: ShellStep, why: str) -> Finding:
    return ctx.finding_at(
        s.step, s.step.line, RULE, "warning", f"not checked by shellcheck: {why}",
        "split the step or simplify it; the limits keep a doc from taking the host's time and memory",
    )
