"""shell.declare: reading the guest's saved shell state (`declare -p`, `alias -p`, `printf %q` quoting)."""

from __future__ import annotations

import subprocess

import pytest

from doctest_runner.shell import parse_state, unquote

SAMPLE = r'''cd -- /home/tester/kata\ containers || echo "doctest: working directory /home/tester/kata\ containers is gone" >&2
umask 0027
declare -x GOPATH="/home/tester/go"
declare -- MSG=$'two\nlines and a \'quote\''
declare -- Q="say \"hi\" \$HOME"
declare -- MULTI="first
second"
declare -a arr=([0]="a" [1]="b c")
declare -ix N="3"
declare -x EMPTY
alias ll='ls -l'
__dt_setopts='set -o pipefail;'
__dt_shopts=''
# --- functions
__dt_chk () 
{ 
    return 0
}
greet () 
{ 
    cat <<EOF
don't "parse" me
EOF
}
export -f greet
'''


def test_parse_state():
    st = parse_state(SAMPLE)
    assert st.cwd == "/home/tester/kata containers"
    assert st.umask == "0027"
    assert st.variables["MSG"] == "two\nlines and a 'quote'"
    assert st.variables["Q"] == 'say "hi" $HOME'
    assert st.variables["MULTI"] == "first\nsecond"
    assert st.variables["arr"] == '([0]="a" [1]="b c")'
    assert st.env == {"GOPATH": "/home/tester/go", "N": "3", "EMPTY": ""}
    assert st.functions == ["greet"]
    assert st.aliases == {"ll": "ls -l"}


@pytest.mark.parametrize("word,value", [
    (r"plain", "plain"),
    (r"a\ b\$c", "a b$c"),
    (r"'single $x'", "single $x"),
    (r'"dq \"x\" \\ \$y"', 'dq "x" \\ $y'),
    (r"$'tab\there\x41\101\e'", "tab\thereAA\x1b"),
    (r"'a'\''b'", "a'b"),
])
def test_unquote(word, value):
    assert unquote(word) == value


def test_bash_quoting_round_trips_through_unquote():
    values = ["plain", "a b", "it's", 'q"q', "new\nline", "tab\tx", "$HOME `x`", "é✓"]
    for v in values:
        out = subprocess.run(["bash", "-c", 'printf %q "$1"', "_", v], capture_output=True, text=True, check=False).stdout
        assert unquote(out) == v, (v, out)


def test_empty_state():
    st = parse_state("")
    assert st.cwd is None and st.variables == {} and st.functions == []
