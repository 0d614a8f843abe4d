"""bash's parser as the judge of where a command ends - and proof that nothing is ever run."""

from __future__ import annotations

import os
import subprocess

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from doctest_runner.shell import BashSyntaxChecker, SyntaxCheck, check_syntax


@pytest.fixture
def checker():
    c = BashSyntaxChecker()
    yield c
    c.close()


@pytest.mark.parametrize(
    "text",
    [
        "echo hi", "", "# only a comment", "a=1 \\\n  b=2", 'services="\nkubelet\n"',
        "cat <<EOF\nbody\nEOF", "cat <<-'EOF'\n\tbody\n\tEOF", "for i in 1 2; do echo $i; done",
        "if true; then\n  echo y\nfi", "x() { echo; }", "{ echo a; }", "echo '{print $1}' | awk '{print}'",
        'echo "${HOME}" ${#PATH} ${x:-d}', "case $1 in\n a) echo ;;\nesac", "echo $(ls\n)", "! true", "time",
    ],
)
def test_complete_and_valid(checker, text):
    assert checker.check(text) == SyntaxCheck(True, True)


@pytest.mark.parametrize(
    "text, wanted, kind",
    [
        ("echo a \\", None, None),
        ('echo "abc', '"', "char"),
        ("echo 'it''s", "'", "char"),
        ("echo `date", "`", "char"),
        ("echo $(ls", ")", "char"),
        ("cat <<EOF\nabc", "EOF", "heredoc"),
        ("cat <<'END' | sudo tee /x\nabc", "END", "heredoc"),
        ("if true; then", None, None),
        ("for x in a; do\n", None, None),
        ("while true", None, None),
        ("case x in\n a) echo;;", None, None),
        ("{ echo a;", None, None),
        ("echo a |", None, None),
        ("echo a &&", None, None),
        ("echo a ||", None, None),
        ("f() \\", None, None),
        ("x=(a b", ")", "char"),
        ("echo ${x", None, None),  # our closing `}` ends the expansion; bash then wants more
        ("[[ -f x", "]]", "char"),
    ],
)
def test_incomplete(checker, text, wanted, kind):
    verdict = checker.check(text)
    assert (verdict.complete, verdict.ok) == (False, False), verdict
    assert (verdict.wanted, verdict.wanted_kind) == (wanted, kind)


@pytest.mark.parametrize(
    "text, line",
    [("echo )", 1), ("echo ok\necho ok\nfi", 3), ("echo hi\n}", 2), ("echo a; }\necho b", 1), ("done", 1),
     ("ls\n;;", 2)],
)
def test_complete_but_invalid_names_the_line(checker, text, line):
    verdict = checker.check(text)
    assert (verdict.complete, verdict.ok, verdict.line) == (True, False, line)
    assert "unexpected" in verdict.message or "syntax error" in verdict.message


def _dangerous(marker: str) -> list[str]:
    return [
        f"touch {marker}",
        f"}}\ntouch {marker}",
        f"}}\n}}\n}}\ntouch {marker}",
        f"echo; }}; touch {marker}",
        f"echo $(touch {marker})",
        f"echo `touch {marker}`",
        f"cat <(touch {marker})",
        f"eval 'touch {marker}'",
        f"x=$(touch {marker}) && echo ${{x}}",
        f"cat <<EOF\n$(touch {marker})\nEOF",
        f"cat <<EOF\n}}\nEOF\ntouch {marker}",
        f'echo "}}"; touch {marker}',
        f"echo ${{x\n}}\ntouch {marker}",
        f"echo \\\n}}\ntouch {marker}",
        f"trap 'touch {marker}' EXIT",
        f"exec touch {marker}",
        f"}} ; touch {marker} ; {{",
        f"((\n}}\ntouch {marker}",
    ]


def test_doc_text_is_never_executed(checker, tmp_path):
    marker = tmp_path / "executed"
    texts = _dangerous(str(marker))
    checker.prefetch(texts)
    for text in texts:
        checker.check(text)
        checker.check(text + "\n")
    checker.close()  # an EXIT trap would fire now if anything had been run
    assert not marker.exists()


def test_default_checker_also_never_executes(tmp_path):
    marker = tmp_path / "executed-default"
    for text in _dangerous(str(marker)):
        check_syntax(text)
    assert not marker.exists()


def test_prefetch_fills_the_cache_with_the_same_verdicts(checker):
    texts = ["echo a", 'echo "b', "cat <<E\nx", "if x; then", "echo )", "ls }"]
    checker.prefetch(texts)
    cached = {t: checker._cache.get(t) for t in texts}
    fresh = BashSyntaxChecker()
    try:
        for t in texts:
            assert checker.check(t) == fresh._check_bash_n(t) or cached[t] is None
            if cached[t] is not None:
                assert cached[t] == checker.check(t)
    finally:
        fresh.close()


def test_nul_bytes_are_invalid_not_a_crash(checker):
    verdict = checker.check("echo a\necho \x00b")
    assert (verdict.complete, verdict.ok, verdict.line) == (True, False, 2)


def test_huge_text_uses_bash_n(checker):
    before = checker.stats["fallback"]
    text = "echo x\n" * 60_000
    assert checker.check(text).ok
    assert checker.stats["fallback"] == before + 1


def test_coprocess_restarts_after_it_dies(checker):
    assert checker.check("echo one").ok
    proc = checker._proc
    assert proc is not None
    proc.kill()  # our own co-process, by its handle
    proc.wait()
    assert checker.check('echo "two').wanted == '"'
    assert checker._proc is not None and checker._proc.pid != proc.pid


def test_missing_bash_degrades_to_complete_single_lines():
    c = BashSyntaxChecker(bash="/nonexistent/bash")
    try:
        verdict = c.check('echo "x')
        assert verdict.complete and "not available" in verdict.message
    finally:
        c.close()


def test_close_stops_the_coprocess_and_leaves_no_file(checker):
    checker.check("echo x")
    proc, fd = checker._proc, checker._fd
    assert proc is not None and fd is not None
    assert os.readlink(f"/proc/self/fd/{fd}").startswith(("/memfd:", "/tmp/"))  # anonymous, not a path
    checker.close()
    assert proc.poll() is not None
    assert checker._fd is None and checker._proc is None


TOKENS = [
    "echo", "a", '"', "'", "`", "$(", ")", "(", "{", "}", "${x", "${x}", ";", "&&", "||", "|", "\\", "\n", " ",
    "if", "then", "fi", "for", "in", "do", "done", "case", "esac", ";;", "<<EOF", "EOF", "<<-X", "\tX", "#",
    "[[", "]]", "$((", "))", "while", "!", "&", ">", "<", "f()", "function", "=", "x=(", "<<<", "$", '"$x"',
    "'}'", "\\\n",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map(" ".join))
@example("for echo \\ \\")
def test_coprocess_agrees_with_bash_n(text):
    """The fast path must give bash -n's verdict (complete? parses?) on arbitrary shell-ish text."""
    fast = check_syntax(text)
    res = subprocess.run(["bash", "-n"], check=False, input=text.encode(), capture_output=True,
                         env={"LC_ALL": "C"})
    stderr = res.stderr.decode("utf-8", "replace")
    incomplete = any(
        s in stderr
        for s in ("unexpected end of file", "unexpected EOF while looking for", "delimited by end-of-file",
                  "unexpected token `EOF'")
    )
    if incomplete:
        assert not fast.complete, (text, stderr)
    elif res.returncode == 0 and not stderr.strip():
        # bash -n accepts a trailing backslash at end of input; a reader's shell would wait for more
        if fast.ok is False:
            assert not fast.complete and text.rstrip(" \t").endswith("\\")
        else:
            assert fast.ok
    elif text.rstrip(" \t").endswith("\\") and not fast.complete:
        # the text ends in a line continuation: a reader's shell waits for the next line (the word goes on), where
        # bash -n ends the word at end of input and may find an error in it (`for echo \\ \\`)
        assert not fast.ok
    else:  # an error message (bash -n sometimes prints one and still exits 0, e.g. `[[ a b`)
        assert fast.complete and not fast.ok, (text, stderr)
