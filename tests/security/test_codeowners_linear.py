"""Issue #11 item 6: CODEOWNERS matching takes time linear in the path, whatever the pattern.

A CODEOWNERS file comes from the docs repository; its patterns used to become regexes, and a line of
many `**` (a `.*` after a `.*` ...) took 50 s to match one path. The matcher is now an automaton
whose work is counted (`PathPattern.steps`): the bound is asserted on that count, and the real
`checklist.md` writer is run in a fresh process with a generous timeout.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from doctest_runner.report.codeowners import parse_codeowners, pattern_regex


def _oracle(pattern: str) -> re.Pattern[str]:
    """The regex translation the matcher replaces (same rules), as a reference on small inputs."""
    dir_only = pattern.endswith("/")
    core = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in core
    out, i = [], 0
    while i < len(core):
        if core.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif core.startswith("/**", i) and i + 3 == len(core):
            out.append("/.*")
            i += 3
        elif core.startswith("**", i):
            out.append(".*")
            i += 2
        elif core[i] == "*":
            out.append("[^/]*")
            i += 1
        elif core[i] == "?":
            out.append("[^/]")
            i += 1
        elif core[i] == "\\" and i + 1 < len(core):
            out.append(re.escape(core[i + 1]))
            i += 2
        else:
            out.append(re.escape(core[i]))
            i += 1
    suffix = "/.*" if dir_only else ("" if core.endswith(("/*", "/**")) else "(?:/.*)?")
    return re.compile("^" + ("" if anchored else "(?:.*/)?") + "".join(out) + suffix + "$", re.DOTALL)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["*", "**", "?", "/", "a", "b", ".md", "**/", "/**", "\\*"]), min_size=1,
                max_size=8).map("".join),
       st.lists(st.sampled_from(["a", "b", "/", "ab", ".md", "*", "x"]), min_size=1, max_size=10).map("".join))
def test_same_answers_as_the_regex_translation(pattern, path):
    assert pattern_regex(pattern).match(path) == bool(_oracle(pattern).match(path)), (pattern, path)


def test_two_hundred_double_stars_match_in_linear_steps():
    path = "/".join(["a"] * 1000) + "/guide.md"  # 2,009 characters
    patterns = {
        "/".join(["**"] * 200) + "/x.md": False,
        "**/a/" * 200 + "b.md": False,  # the regex backtracking case: literals between the `**`
        "**/a/" * 200 + "guide.md": True,
        "**" + "*a" * 200 + "/guide.md": False,  # `*` stays inside one path segment
        "**/*a" + "/*a" * 199 + "/guide.md": True,
        "a/" + "**/a/" * 100 + "**/*.md": True,
    }
    for pattern, hit in patterns.items():
        matcher = pattern_regex(pattern)
        assert matcher.match(path) is hit, pattern
        # one big-integer step per character, plus the empty moves of merged wildcard runs
        assert matcher.steps <= 4 * (len(path) + 1), (pattern, matcher.steps)


def test_last_matching_line_still_wins():
    owners = parse_codeowners("**/" * 200 + "*.md @many\n" + "**/a/" * 200 + "x.md @deep\n" + "docs/*.md @docs\n",
                              "CODEOWNERS", root=None)
    assert owners.owners_for("docs/guide.md") == ("@docs",)
    assert owners.owners_for("b/a/a/docs/a/x.md") == ("@many",)
    assert owners.owners_for("a/" * 250 + "x.md") == ("@deep",)
    assert owners.owners_for("b/x.txt") == ()


def test_checklist_with_a_hostile_codeowners_finishes(tmp_path):
    """The real report writer in a fresh process: 300 lines of 200 `**` each, a deep doc path."""
    codeowners = tmp_path / "CODEOWNERS"
    codeowners.write_text(("**/d/" * 200 + "*.md @team\n") * 300)
    script = textwrap.dedent(f"""
        from pathlib import Path
        from doctest_runner.model import DocResult, ExecResult, HostInfo, RunResult, Step, StepResult
        from doctest_runner.report import write_all
        path = "/".join(["d"] * 800) + "/guide.md"
        step = Step(id=path + ":3", path=path, line=3, end_line=3, heading=("G",), command="false", kind="bare",
                    line_map=(3,), block_line=2)
        sr = StepResult(step=step, status="failed", exit_code=1, duration_s=0.1, category="command-error",
                        explanation="exit 1", evidence="false")
        doc = DocResult(path=path, image="debian-12", status="failed", steps=[sr])
        run = RunResult(run_id="r", started_at="2026-01-01T00:00:00+00:00", host=HostInfo(accel="tcg", why=""),
                        docs=[doc])
        out = write_all(run, Path({str(tmp_path / "out")!r}), codeowners=Path({str(codeowners)!r}))
        print(Path(out["checklist"]).read_text())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "@team" in done.stdout
