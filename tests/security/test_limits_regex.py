"""Issue #11 item 6: a sidecar's `command_re` cannot hang `list` (catastrophic backtracking).

`(a+)+$` against a 5,000-character `aaaa…b` command never finished under Python's `re`; patterns
are now matched by the `regex` package with a timeout per search and a budget per rule. The CLI
runs in a fresh process with a generous timeout (a hang fails the test, not the suite).
"""

from __future__ import annotations

import re

import pytest
from untrusted import assert_one_line_error, put, run_cli

from doctest_runner.model import DoctestError
from doctest_runner.plan import load_sidecar
from doctest_runner.plan import pattern as pattern_module
from doctest_runner.plan.pattern import CommandPattern

SLOW = "echo " + "a" * 5000 + "b"


def test_list_gives_up_on_a_backtracking_pattern_with_the_rule_line(tmp_path):
    put(tmp_path, "guide.md", f"# Guide\n\n```bash\n{SLOW}\n```\n\n```bash\nls\n```\n")
    put(tmp_path, "guide.doctest.yaml", """\
        steps:
          - command: ls
            skip: true

          - command_re: (a+)+$
            reason: never finishes in re
            skip: true
        """)
    put(tmp_path, "other.md", "# Other\n\n```bash\necho other\n```\n")
    result = run_cli("list", "guide.md", "other.md", cwd=tmp_path, timeout=120)
    line = assert_one_line_error(result, code=1)
    assert line.startswith("guide.doctest.yaml:5: command_re gave up after 1 s on one command"), line
    assert "other.md:4  [Other]  run  echo other" in result.out  # the other doc goes on
    assert "guide.md" not in result.out  # the doc whose sidecar failed is not planned


def test_every_rule_has_a_budget(monkeypatch):
    """A pattern just under the per-search timeout cannot add up over many commands."""
    monkeypatch.setattr(pattern_module, "RULE_BUDGET_S", 0.05)
    pat = CommandPattern(r"(x+x+)+y", "s.doctest.yaml", 7)
    with pytest.raises(DoctestError) as err:
        for n in range(10_000):
            pat.search("x" * (12 + n % 6) + f" {n}")  # each search is fast, together they are not
    assert (err.value.path, err.value.line) == ("s.doctest.yaml", 7)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # re's "possible nested set"
@pytest.mark.parametrize("pattern,text", [
    (r"^sudo\s+modprobe", "sudo  modprobe kvm"),
    (r"^sudo\s+modprobe", "echo x\nsudo modprobe kvm"),  # multi-line, as the README says
    (r"^sudo\s+modprobe", "echo sudo modprobe"),
    (r"curl .*\| *(sudo )?bash$", "curl -fsSL https://x.sh | sudo bash"),
    (r"(?i)APT-GET", "apt-get install x"),
    (r"\bkata-(?:runtime|ctl)\b", "sudo kata-ctl check"),
    (r"[[:alpha:]]", "[:"),  # a set with '[' and ':' in Python's re
    (r"a{2,}", "caaat"),
    (r"(?<=v)\d+\.\d+", "v3.12"),
])
def test_same_matches_as_pythons_re(pattern, text):
    ours = CommandPattern(pattern, "s.doctest.yaml", 1).search(text)
    assert ours == bool(re.compile(pattern, re.MULTILINE).search(text))


def test_invalid_and_oversized_patterns_are_errors_at_their_line(tmp_path):
    sidecar = put(tmp_path, "guide.doctest.yaml", f"""\
        steps:
          - command_re: "(unclosed"
            skip: true
          - command_re: "{'a' * 3000}"
            skip: true
        """)
    with pytest.raises(DoctestError) as err:
        load_sidecar(sidecar, "guide.doctest.yaml")
    lines = [str(e) for e in err.value.errors]
    assert lines[0].startswith("guide.doctest.yaml:2: command_re is not a valid regular expression: ")
    assert lines[1] == "guide.doctest.yaml:4: command_re is longer than 2000 characters"
    assert all("\n" not in line for line in lines)
