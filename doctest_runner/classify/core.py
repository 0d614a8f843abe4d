"""Name why a step failed: a category, a one-line explanation, and the output line that shows it.

The categories are split into doc bugs and environment problems (`model.category_group`), so
the order of the checks below matters: when a download fails to resolve its host and `tar` then
fails on the empty file, the report must blame the network, not the tar command.

Precedence (first that applies wins):
  interactive (a prompt message) > needs-kvm by requirement > placeholder (unresolved `<x>`,
  unbound variable) > network connectivity > placeholder (empty expansion seen in the output)
  > network HTTP errors > needs-kvm > timeout > syntax > permission > package-not-found
  > command-not-found > service > interactive (the executor saw a read on the closed stdin)
  > placeholder (quoted `<x>` echoed in the output) > unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from doctest_runner import shell
from doctest_runner.checks import OutputMismatch
from doctest_runner.classify import rules as R
from doctest_runner.classify.assumed import GuideContext, refine
from doctest_runner.classify.platform import platform_mismatch
from doctest_runner.model import ExecResult, Step, category_group
from doctest_runner.text import clean_lines, last_nonempty, trim, trim_around

NO_OUTPUT = "(no output)"


@dataclass(frozen=True)
class Verdict:
    """Why one step failed, in the words a doc author needs."""

    category: str
    explanation: str
    evidence: str

    @property
    def group(self) -> str | None:
        return category_group(self.category)


@dataclass(frozen=True)
class _Hit:
    rule: R.Rule
    match: re.Match[str]
    index: int  # line index in the cleaned output
    line: str


def _scan(lines: list[str]) -> dict[str, list[_Hit]]:
    """Every rule hit, per category; one line can hit several categories but one rule per category."""
    hits: dict[str, list[_Hit]] = {}
    for i, line in enumerate(lines):
        if not line.strip() or R.NOISE.match(line):
            continue
        lower = line.lower()
        if R.ANY_NEEDLE is not None and not R.ANY_NEEDLE.search(lower):
            continue
        best: dict[str, _Hit] = {}
        for rule in R.RULES:
            m = rule.match(line, lower)
            if m is None:
                continue
            cur = best.get(rule.category)
            if cur is None or rule.weight > cur.rule.weight:
                best[rule.category] = _Hit(rule, m, i, line)
        for cat, hit in best.items():
            hits.setdefault(cat, []).append(hit)
    return hits


def _strongest(hits: list[_Hit]) -> _Hit:
    """The most telling line: highest weight, the earliest on a tie (later lines are consequences)."""
    return max(hits, key=lambda h: (h.rule.weight, -h.index))


def _from_hit(hit: _Hit, category: str | None = None) -> Verdict:
    evidence = trim_around(hit.line, hit.match.start(), hit.match.end())
    return Verdict(category or hit.rule.category, hit.rule.explanation(hit.match), evidence)


def _evidence_default(lines: list[str]) -> str:
    last = last_nonempty([ln for ln in lines if not R.NOISE.match(ln)]) or last_nonempty(lines)
    return trim(last) if last else NO_OUTPUT


def _command_line(step: Step, index: int | None) -> str:
    lines = step.command.split("\n")
    if index is not None and 0 <= index < len(lines):
        return trim(lines[index])
    return trim(lines[0]) if lines else ""


def _line_mentioning(lines: list[str], needles: list[str]) -> str | None:
    for line in lines:
        if line.strip() and not R.NOISE.match(line) and any(n and n in line for n in needles):
            return line
    return None


def _placeholder_verdict(step: Step, lines: list[str], hits: dict[str, list[_Hit]]) -> Verdict | None:
    """An unquoted `<name>` in a failed command is a value the reader was meant to fill in."""
    if step.kind == "file":
        return None
    found = [p for p in shell.placeholders(step.command) if not p.quoted]
    if not found:
        return None
    p = found[0]
    # bash names the word it tried to open (`bash: file: No such file or directory`), else it
    # reports a syntax error; the echo of the command line itself is the weakest evidence.
    evidence = _line_mentioning(lines, [f": {p.name}: "])
    if evidence is None and "syntax" in hits:
        evidence = _strongest(hits["syntax"]).line
    if evidence is None:
        evidence = _line_mentioning(lines, [p.text]) or _command_line(step, p.line_index)
    return Verdict(
        "placeholder",
        f"unresolved placeholder {p.text} in the command: the shell read it as a redirection; "
        "give a real value or a variable set in an earlier step",
        trim(evidence),
    )


def _unbound_verdict(lines: list[str]) -> Verdict | None:
    for line in lines:
        m = re.search(r"(?P<var>[\w$]+): unbound variable", line) if "unbound variable" in line else None
        if m:
            var = m.group("var").lstrip("$")
            return Verdict(
                "placeholder",
                f"${var} is used but never set: define it in an earlier step (or give its value)",
                trim(line),
            )
    return None


def _empty_expansion_verdict(step: Step, lines: list[str]) -> Verdict | None:
    """`https://x/v${VERSION}/a.tgz` shows up in the output as `https://x/v/a.tgz`: $VERSION was empty."""
    if step.kind == "file":
        return None
    for exp in shell.empty_expansions(step.command):
        for line in lines:
            if exp.expanded in line and exp.word not in line:
                return Verdict(
                    "placeholder",
                    f"${exp.var} was never set, so the command used {trim(exp.expanded, 100)}: "
                    f"set {exp.var} in an earlier step (or give its value)",
                    trim(line),
                )
    return None


def _quoted_placeholder_verdict(step: Step, lines: list[str]) -> Verdict | None:
    """A quoted `<name>` only counts when the failing program echoes it back (`pods "<pod>" not found`)."""
    if step.kind == "file":
        return None
    for p in shell.placeholders(step.command):
        line = _line_mentioning(lines, [p.text])
        if line is not None:
            return Verdict(
                "placeholder",
                f"unresolved placeholder {p.text} was passed on literally: give a real value",
                trim(line),
            )
    return None


def _sudo_redirect_verdict(step: Step, lines: list[str], hits: dict[str, list[_Hit]]) -> Verdict | None:
    """`sudo echo x > /etc/y`: the redirect is opened by the user's shell before sudo runs."""
    perm = hits.get("permission", [])
    if not perm:
        return None
    for redirect in shell.sudo_redirects(step.command):
        for hit in perm:
            if redirect.target in hit.line and "denied" in hit.line.lower():
                return Verdict(
                    "permission",
                    f"the redirect to {redirect.target} runs as the user, not under sudo: "
                    f"use `| sudo tee {redirect.target}` (or `sudo sh -c '...'`)",
                    trim(hit.line),
                )
    return None


def _missing_script_verdict(step: Step, lines: list[str]) -> Verdict | None:
    """`./build.sh: No such file or directory` for a path the command runs: wrong directory or missing step."""
    for line in lines:
        m = re.search(r"(?:^|: )(?:line \d+: )?(?P<path>\.{0,2}/[^\s:]+): No such file or directory", line)
        if not m:
            continue
        path = m.group("path")
        if re.search(r"(?:^|[\n;&|(]\s*|\bsudo\s+(?:-\S+\s+)*|\bexec\s+)" + re.escape(path) + r"(?:\s|$)",
                     step.command):
            return Verdict(
                "command-not-found",
                f"{path} does not exist: the step runs it from the wrong directory, or an earlier step "
                "that creates it is missing",
                trim(line),
            )
    return None


def _service_state_verdict(step: Step, lines: list[str]) -> Verdict | None:
    if not re.search(r"\bsystemctl\b.*\bis-(?:active|enabled|failed)\b", step.command):
        return None
    for line in lines:
        m = R.SERVICE_STATE.match(line)
        if m:
            return Verdict("service", f"the service is {m.group(1)}, not active", trim(line))
    return None


def _timeout_verdict(step: Step, result: ExecResult, lines: list[str]) -> Verdict:
    limit = step.options.timeout
    took = f"its {limit}s timeout" if limit else f"{result.duration_s:.0f}s"
    return Verdict(
        "timeout",
        f"the step did not finish within {took} and was stopped: it hangs, or needs more time "
        "on this (possibly non-KVM) host",
        _evidence_default(lines),
    )


def _interactive_verdict(last: str | None) -> Verdict:
    return Verdict(
        "interactive",
        "the step waited for input: make it non-interactive (-y, DEBIAN_FRONTEND=noninteractive, "
        "no -t) or mark it pty",
        trim(last) if last else NO_OUTPUT,
    )


def _kvm_by_command(step: Step, kvm_available: bool) -> bool:
    return not kvm_available and bool(
        re.search(r"\bkata-runtime\s+check\b|\bkata-check\b|\bkvm-ok\b|/dev/kvm\b|\bmodprobe\s+kvm", step.command)
    )


def classify(
    step: Step,
    result: ExecResult,
    *,
    kvm_available: bool = True,
    output_mismatch: OutputMismatch | None = None,
    context: GuideContext | None = None,
) -> Verdict:
    """Categorise one failed step; with the guide's `context` (its Plan: prerequisites, steps given in words),
    a doc-bug verdict that the guide's own words explain becomes `prerequisite` or `prose-step` (assumed.py)."""
    verdict = _classify_output(step, result, kvm_available=kvm_available, output_mismatch=output_mismatch)
    if output_mismatch is not None and verdict.category == "output-mismatch":
        return verdict
    refined = refine(verdict.category, step, result, context)
    if refined is None:
        return verdict
    return Verdict(refined.category, refined.explanation, verdict.evidence)


def _classify_output(
    step: Step,
    result: ExecResult,
    *,
    kvm_available: bool = True,
    output_mismatch: OutputMismatch | None = None,
) -> Verdict:
    """Categorise one failed (or output-mismatched) step from its command and output.

    `output_mismatch` is the `compare_output` result for a step run with `output=check`: it
    decides the verdict only when the command itself succeeded.
    """
    lines = clean_lines(result.output)
    failed = result.timed_out or result.exit_code != step.options.expect_exit
    if output_mismatch is not None and not failed:
        return verdict_for_mismatch(output_mismatch)

    hits = _scan(lines)

    # 1. It waited for a person: a known message, or a prompt left at the end of a hung step.
    if "interactive" in hits:
        return _from_hit(_strongest(hits["interactive"]))
    last = last_nonempty(lines)
    if result.timed_out and last and R.PROMPT_AT_END.search(last):
        return _interactive_verdict(last)

    # 2. A step that needs KVM on a machine without it is the machine's fault, whatever it printed.
    if not kvm_available and "kvm" in step.options.requires:
        hit = _strongest(hits["needs-kvm"]) if "needs-kvm" in hits else None
        return Verdict(
            "needs-kvm",
            "the step needs KVM and this VM has none (no nested virtualization): run on a host with KVM",
            trim(hit.line) if hit else _evidence_default(lines),
        )

    # 3. Unfilled placeholders: the command as written cannot work anywhere.
    for verdict in (_placeholder_verdict(step, lines, hits), _unbound_verdict(lines)):
        if verdict is not None:
            return verdict

    # 4. Network: connectivity failures beat everything they cause downstream.
    net = hits.get("network", [])
    conn = [h for h in net if not h.rule.http]
    if conn:
        return _from_hit(_strongest(conn))
    empty = _empty_expansion_verdict(step, lines)
    if empty is not None:
        return empty
    if net:
        return _from_hit(_strongest(net))

    # 5. No KVM.
    if "needs-kvm" in hits:
        return _from_hit(_strongest(hits["needs-kvm"]))
    if _kvm_by_command(step, kvm_available):
        return Verdict(
            "needs-kvm",
            "the step checks for KVM and this VM has none (no nested virtualization): run on a host with KVM",
            _evidence_default(lines),
        )

    # 6. Killed by the timeout.
    if result.timed_out:
        return _timeout_verdict(step, result, lines)

    # 6b. Another platform's tool (brew, dnf, Set-ExecutionPolicy) is missing: the image, not the doc.
    other = platform_mismatch(lines)
    if other is not None:
        return Verdict("platform-mismatch", other[0], trim(other[1]))

    # 7. Doc bugs, most specific first.
    if "syntax" in hits:
        return _from_hit(_strongest(hits["syntax"]))
    redirect = _sudo_redirect_verdict(step, lines, hits)
    if redirect is not None:
        return redirect
    for category in ("permission", "package-not-found", "command-not-found"):
        if category in hits:
            return _from_hit(_strongest(hits[category]))
    missing = _missing_script_verdict(step, lines)
    if missing is not None:
        return missing
    if "service" in hits:
        return _from_hit(_strongest(hits["service"]))
    state = _service_state_verdict(step, lines)
    if state is not None:
        return state
    # The executor saw a read on the closed stdin, and nothing else explains the failure (a read that
    # got end-of-input and carried on, like debconf's probe during `apt-get install -y`, is no verdict).
    if result.interactive:
        return _interactive_verdict(last)
    if result.exit_code == 127:
        return Verdict(
            "command-not-found",
            "exit status 127: a command in the step is not installed (or is misspelt)",
            _evidence_default(lines),
        )
    quoted = _quoted_placeholder_verdict(step, lines)
    if quoted is not None:
        return quoted

    # 8. Nothing recognisable: say what we know.
    code = "no exit status" if result.exit_code is None else f"exit status {result.exit_code}"
    expected = step.options.expect_exit
    why = f"{code} (expected {expected})" if expected != 0 else code
    evidence = _evidence_default(lines)
    shown = "it printed nothing" if evidence == NO_OUTPUT else "the last output line is shown"
    return Verdict("unknown", f"the step failed with {why}; {shown}", evidence)


def verdict_for_mismatch(mismatch: OutputMismatch) -> Verdict:
    """The verdict for a step that succeeded but printed something other than the doc shows.

    The one place this verdict is worded: the runner (a step run with `output=check`) and `classify` both use
    it. The evidence is the printed line where the output first differs, as `compare_output` trimmed it (an
    empty line stays empty: the output did not end there).
    """
    return Verdict(
        "output-mismatch",
        f"the output differs from the documented output: {mismatch.message}",
        mismatch.evidence,
    )
