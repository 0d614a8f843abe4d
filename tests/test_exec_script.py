"""Pure parts of exec: the generated step script (splitting into units is tests/test_shell_split.py)."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doctest_runner.exec import build_script, is_reboot_command
from doctest_runner.shell import split_units


def spans(command: str) -> list[tuple[int, int]]:
    return [(u.start, u.end) for u in split_units(command)]


def test_comments_and_blank_lines_get_no_check():
    script = build_script("# comment\n\necho a", lib_path="/l.sh", step_no=1, errexit=True, root=False)
    lines = script.text.splitlines()
    assert lines[1:4] == ["# comment", "", "echo a"]
    assert sum("__dt_chk" in ln for ln in lines) == 1


def test_line_index_maps_script_lines_back():
    cmd = "echo one\ncd /x && \\\n  make\ncat <<EOF\nbody\nEOF"
    script = build_script(cmd, lib_path="/l.sh", step_no=3, errexit=True, root=False, pid_file="/p")
    lines = script.text.splitlines()
    assert lines[0] == "echo $$ >/p; . /l.sh 3 1 0"
    assert script.command_line(1) is None
    for n, line in enumerate(lines, start=1):
        idx = script.command_line(n)
        if idx is None:
            assert n == 1 or "__dt_chk" in line
        else:
            assert cmd.split("\n")[idx] == line
    # the check after the `cd && make` unit names the unit's first script line
    chk = lines[lines.index("  make") + 1]
    assert chk == '{ __dt_chk $? 0 4 "$_"; } 2>/dev/null'  # 1: lib, 2: echo one, 3: its check, 4: cd
    assert script.command_line(4) == 1


def test_test_idiom_flag():
    script = build_script('[ "$ARCH" == "ppc64le" ] && export ARCH=powerpc64le\n[ -f x ]',
                          lib_path="/l.sh", step_no=1, errexit=False, root=True)
    checks = [ln for ln in script.text.splitlines() if "__dt_chk" in ln]
    assert checks[0].startswith("{ __dt_chk $? 1 ")
    assert checks[1].startswith("{ __dt_chk $? 0 ")  # a bare test is a real check
    assert script.text.splitlines()[0].endswith(" 1 0 1")


def test_generated_script_parses():
    cmd = "cat <<'EOF' > /tmp/x\n$(not run)\nEOF\nfor i in a b; do\n  echo $i\ndone\n[ -d x ] || mkdir x"
    script = build_script(cmd, lib_path="/l.sh", step_no=1, errexit=True, root=False)
    res = subprocess.run(["bash", "-n"], input=script.text, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


_KEYWORDS = {"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "select",
             "function", "coproc", "in"}
_word = st.text(alphabet="abcdefghij0123456789-_./=", min_size=1, max_size=8).filter(lambda w: w not in _KEYWORDS)
_simple_line = st.lists(_word, min_size=1, max_size=4).map(" ".join)


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(_simple_line, min_size=1, max_size=12))
def test_plain_lines_split_one_per_line_and_map_back(lines):
    cmd = "\n".join(lines)
    assert spans(cmd) == [(i, i) for i in range(len(lines))]
    script = build_script(cmd, lib_path="/l.sh", step_no=1, errexit=True, root=False)
    mapped = [script.command_line(n) for n in range(1, len(script.line_index) + 1)]
    assert [m for m in mapped if m is not None] == list(range(len(lines)))


@pytest.mark.parametrize("cmd,expected", [
    ("sudo reboot", True),
    ("$ sudo reboot", False),
    ("sudo systemctl reboot", True),
    ("reboot", True),
    ("sudo shutdown -r now", True),
    ("sudo shutdown -h now", False),
    ("sudo reboot\necho after", False),
    ("# reboot the machine\nsudo reboot", True),
    ("echo reboot", False),
])
def test_is_reboot_command(cmd, expected):
    assert is_reboot_command(cmd) is expected
