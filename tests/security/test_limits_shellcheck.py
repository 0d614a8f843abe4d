"""Issue #11 item 6: steps are screened before shellcheck, and shellcheck runs under limits.

A 4.5 KB step of nested `$(` made shellcheck take 33 s and 4.5 GB (3,000 levels: 19 GB). Steps
over the size or nesting limits are now not given to shellcheck at all and get a finding saying
so; every shellcheck process has an address-space limit and a timeout, whose excess is such a
finding too. The CLI test runs under a 1 GiB limit with a timeout.
"""

from __future__ import annotations

import pytest
from bounded import run_bounded
from untrusted import put

from doctest_runner.lint import lint_plan
from doctest_runner.lint.rules import shellcheck as sc
from doctest_runner.lint.rules.shellcheck import MAX_NESTING, MAX_SUBST_NESTING, too_complex
from doctest_runner.shell import nesting
from doctest_runner.model import Plan, Step

pytestmark = pytest.mark.skipif(sc.shellcheck_path() is None, reason="needs shellcheck (apt-get install shellcheck)")

DEEP = "echo " + "$(echo " * 3000 + "x" + ")" * 3000


def _step(line: int, command: str) -> Step:
    n = command.count("\n") + 1
    return Step(id=f"guide.md:{line}", path="guide.md", line=line, end_line=line + n - 1, heading=("G",),
                command=command, kind="bare", line_map=tuple(range(line, line + n)), block_line=line - 1)


def _shellcheck_findings(*steps: Step) -> list[tuple[int, str, str]]:
    return [(f.line, f.severity, f.message) for f in lint_plan(Plan(path="guide.md", steps=list(steps)))
            if f.rule == "shellcheck"]


def test_lint_of_3000_nested_substitutions(tmp_path):
    put(tmp_path, "deep.md", f"# Deep\n\n```bash\n{DEEP}\n```\n\n```bash\necho $@\n```\n")
    result = run_bounded("lint", "deep.md", cwd=tmp_path, timeout=120)
    assert "Traceback" not in result.err, result.err
    assert result.out.splitlines() == [
        "deep.md:4: warning: [shellcheck] not checked by shellcheck: command substitutions nested 3000 deep "
        f"(limit {MAX_SUBST_NESTING}) (hint: split the step or simplify it; the limits keep a doc from taking the "
        "host's time and memory)",
        "deep.md:8: error: [shellcheck] SC2068: Double quote array expansions to avoid re-splitting elements. "
        "(hint: see https://www.shellcheck.net/wiki/SC2068)",
        "1 error, 1 warning in 1 doc",
    ]


def test_screened_steps_never_reach_shellcheck(monkeypatch):
    scripts: list[str] = []
    real = sc._exec

    def spy(exe, script, timeout=sc.PROCESS_TIMEOUT_S):
        scripts.append(script)
        return real(exe, script, timeout)

    monkeypatch.setattr(sc, "_exec", spy)
    sc._CACHE.clear()
    big = "echo start\n" + "printf '%s\\n' x\n" * 3000  # 48,011 characters
    groups = "( " * 60 + "true" + " )" * 60
    found = _shellcheck_findings(_step(10, DEEP), _step(20, big), _step(3030, groups), _step(3040, "echo $@"))
    assert found == [
        (10, "warning", f"not checked by shellcheck: command substitutions nested 3000 deep (limit {MAX_SUBST_NESTING})"),
        (20, "warning", "not checked by shellcheck: the step is 46 KiB long (limit 32 KiB)"),
        (3030, "warning", f"not checked by shellcheck: nested 60 levels deep (limit {MAX_NESTING})"),
        (3040, "error", "SC2068: Double quote array expansions to avoid re-splitting elements."),
    ]
    assert scripts == ["echo $@\n"]


def test_memory_limit_in_the_shellcheck_child(monkeypatch):
    """A step that needs more than the limit: shellcheck dies of it, the step gets a finding and its
    neighbours in the batch are still checked one by one."""
    monkeypatch.setattr(sc, "MEMORY_LIMIT_BYTES", 96 * 1024 * 1024)  # shellcheck starts from 72 MiB
    sc._CACHE.clear()
    heavy = "echo " + "$(echo 1) " * 2500  # 25 KB: shellcheck needs more than 128 MiB of address space
    found = _shellcheck_findings(_step(5, "echo $@"), _step(7, heavy), _step(9, "ls $@"))
    assert found == [
        (5, "error", "SC2068: Double quote array expansions to avoid re-splitting elements."),
        (7, "warning", "not checked by shellcheck: shellcheck needed more than 96 MiB"),
        (9, "error", "SC2068: Double quote array expansions to avoid re-splitting elements."),
    ]


def test_time_limit_of_the_shellcheck_child(monkeypatch):
    monkeypatch.setattr(sc, "PROCESS_TIMEOUT_S", 0.3)
    sc._CACHE.clear()
    slow = "echo " + "$(echo " * 6 + "x" + ")" * 6 + "\n" + "echo $(echo 1)\n" * 400  # screened fine, slow
    assert too_complex(slow) is None
    assert _shellcheck_findings(_step(3, slow)) == [
        (3, "warning", "not checked by shellcheck: shellcheck took longer than 0.3 s"),
    ]


@pytest.mark.parametrize("text,expected", [
    ("echo $(echo $(date))", (2, 2)),
    ('echo "$(echo "$(date)")"', (2, 2)),  # a substitution starts a fresh quoting context
    ("echo '$($($($($($($($(' x", (0, 0)),  # single quotes are literal
    ('echo "(((((((" x', (0, 0)),
    ("# $($($($($($($($(", (0, 0)),  # a comment
    ("a=`echo \\`date\\``", (2, 0)),  # nested backticks: escaped inner ones
    ("for i in 1; do if true; then echo; fi; done", (0, 2)),
    ("echo ${a:-${b:-c}} $((1 + (2 * 3)))", (0, 3)),
    ("cat <<'EOF'\n$($($($($($($(\nEOF", (0, 0)),  # a quoted heredoc body is literal
    ("cat <<EOF\n'\n$(a $(b $(c)))\n'\nEOF\necho $(d)", (3, 3)),  # quotes in an unquoted body are text
    ("case $x in a) echo;; esac", (0, 1)),
    ("echo )))) $(a)", (1, 1)),  # closers without openers change nothing
])
def test_nesting_scan(text, expected):
    assert nesting(text) == expected


def test_real_docs_are_never_screened_out():
    from pathlib import Path

    from doctest_runner.plan import plan_paths

    roots = [p for p in (Path("../shared/kata-docs"), Path("../shared/external-docs"),
                         Path("docs_under_test")) if p.is_dir()]
    if not roots:
        pytest.skip("no real docs here")
    planset = plan_paths([str(p) for p in roots])
    steps = [s for plan in planset.plans for s in plan.steps + plan.setup + plan.cleanup]
    assert len(steps) > 100
    assert [s.id for s in steps if too_complex(s.command)] == []
