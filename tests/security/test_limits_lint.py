"""Issue #11 item 6: `lint` has a doc size limit and a per-doc time budget; shellcheck works in batches.

`lint` of a 5 MB doc took two minutes and 4.3 GB: shellcheck got every step in one batch, and its
memory grows with the square of its input. Batches are now small (their findings land on the
same lines as one batch's), a doc over MAX_LINT_DOC_BYTES is one error line without being read,
and a doc over its time budget is one error line while the other docs go on.
"""

from __future__ import annotations

import pytest
from bounded import run_bounded
from untrusted import put

from doctest_runner.lint import lint_plan
from doctest_runner.lint.engine import MAX_LINT_DOC_BYTES
from doctest_runner.lint.rules import shellcheck as sc
from doctest_runner.model import Plan, Step

pytestmark = pytest.mark.skipif(sc.shellcheck_path() is None, reason="needs shellcheck (apt-get install shellcheck)")

SMALL = "# Small\n\n```bash\necho $@\n```\n"
SMALL_FINDING = "small.md:4: error: [shellcheck] SC2068: Double quote array expansions to avoid re-splitting elements."


def test_doc_over_the_size_limit_is_one_error_line_and_others_go_on(tmp_path):
    prose = ("Kata Containers is an open source project building lightweight virtual machines. " * 12 + "\n\n")
    put(tmp_path, "huge.md", "# Huge\n\n" + prose * (MAX_LINT_DOC_BYTES // len(prose) + 10))
    put(tmp_path, "small.md", SMALL)
    result = run_bounded("lint", "huge.md", "small.md", cwd=tmp_path)
    assert result.code == 1
    assert result.err_lines == ["doctest-runner: error: huge.md: doc is 1.0 MiB, over the size limit of 1 MiB: not read"]
    assert result.out.splitlines()[0].startswith(SMALL_FINDING)


def test_doc_over_its_time_budget_is_one_error_line_and_others_go_on(tmp_path):
    # some 40 s of shellcheck: 8,000 command substitutions (about 5 ms each), in small steps
    blocks = "".join(f"## Part {i}\n\n```bash\n" + f"echo $(echo {i}) $(echo 2)\n" * 20 + "```\n\n" for i in range(200))
    put(tmp_path, "slow.md", "# Slow\n\n" + blocks)
    put(tmp_path, "small.md", SMALL)
    result = run_bounded("lint", "--time-budget", "5", "slow.md", "small.md", cwd=tmp_path, timeout=180)
    assert result.code == 1
    assert result.err_lines == [
        "doctest-runner: error: slow.md: lint stopped at its time budget of 5 s for one doc; "
        "the rest of this doc is not checked"
    ]
    assert any(line.startswith(SMALL_FINDING) for line in result.out.splitlines())


def _steps(n: int) -> list[Step]:
    """n steps, every third one two lines long, each with one finding (unquoted $@) on a known line."""
    steps, line = [], 10
    for i in range(n):
        command = f"echo {i} $@" if i % 3 else f"echo {i}\nls $@"
        k = command.count("\n") + 1
        steps.append(Step(id=f"guide.md:{line}", path="guide.md", line=line, end_line=line + k - 1, heading=("G",),
                          command=command, kind="bare", line_map=tuple(range(line, line + k)), block_line=line - 1))
        line += k + 3
    return steps


def _finding_lines(steps: list[Step]) -> list[int]:
    return [f.line for f in lint_plan(Plan(path="guide.md", steps=steps)) if f.rule == "shellcheck"]


def test_findings_of_many_batches_land_on_their_lines(monkeypatch):
    steps = _steps(900)  # about 9 KB: two batches
    want = [s.line_map[-1] for s in steps]
    assert len(sc._batches(tuple(s.command for s in steps))) >= 2
    sc._CACHE.clear()
    assert _finding_lines(steps) == want
    monkeypatch.setattr(sc, "BATCH_CHARS", 10**9)  # one batch, as before: the same findings
    sc._CACHE.clear()
    assert _finding_lines(steps) == want


def test_a_step_shellcheck_cannot_parse_is_found_by_halving(monkeypatch):
    """shellcheck's parser gives up on a batch holding such a step (simulated here: real cases are
    rare corners of bash); the others' findings stay, in a few runs rather than one per step."""
    real = sc._run
    runs: list[int] = []

    def run(texts, deadline=None):
        runs.append(len(texts))
        if any("UNPARSEABLE" in t for t in texts):
            return [], "aborted", ""
        return real(texts, deadline)

    monkeypatch.setattr(sc, "_run", run)
    steps = _steps(64)
    steps[40].command = "echo UNPARSEABLE $@"
    sc._CACHE.clear()
    assert _finding_lines(steps) == [s.line_map[-1] for i, s in enumerate(steps) if i != 40]
    assert len(runs) <= 2 * 7 + 1  # halving: two runs per level of a 64-step batch
