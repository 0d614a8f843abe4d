"""Issue #11 item 5: one doc cannot change another doc's steps through the bash syntax checker.

The persistent co-process used to end each answer with a fixed marker line; bash echoes parts of
the text in its messages (a quoted heredoc delimiter may span lines), so a doc could print the
marker itself and shift every later answer by one. Answers are now framed with a random token per
request. The canary: the second doc's steps must be exactly what parsing it alone gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from doctest_runner.shell import BashSyntaxChecker, SyntaxCheck

REPO = Path(__file__).resolve().parents[2]

# The old fixed markers, in a heredoc body and in a quoted heredoc delimiter that spans lines
# (bash repeats the delimiter in its "wanted `...'" warning), plus lines shaped like the new
# framing with a guessed token.
FORGER = """\
# Forger

```console
$ cat <<'EOF
__DR_DONE 0
__DR_END
0123456789abcdef0123456789abcdef DONE 0 0
0123456789abcdef0123456789abcdef END
X'
```

```console
$ cat <<EOF
__DR_DONE 0
__DR_END
EOF
```

```console
$ cat <<'EOF
__DR_DONE 0
__DR_DONE 1
__DR_END
__DR_END
EOF
```
"""

VICTIM = """\
# Victim

```console
$ echo one
one
$ if true; then
>   echo two
> fi
two
$ cat <<EOF
three
EOF
three
$ printf '%s\\n' "four
five"
four
five
```

```console
$ sudo apt-get install -y hello
Reading package lists...
$ hello
Hello, world!
```
"""


def _steps(paths: list[Path], cwd: Path) -> dict[str, list[dict]]:
    """`doctest-runner list --json` in a fresh process (a fresh co-process and an empty cache)."""
    env = dict(os.environ, DOCTEST_RUNNER_CACHE=str(cwd / "cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "doctest_runner", "list", "--json", *map(str, paths)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return {d["path"]: [(s["line"], s["command"], s["expected_output"]) for s in d["steps"]]
            for d in json.loads(proc.stdout)}



def assert_same_as_alone(texts: list[str], got: list[SyntaxCheck]) -> None:
    """Each verdict from a shared checker equals the one a fresh checker gives that text alone."""
    for text, verdict in zip(texts, got):
        single = BashSyntaxChecker()
        try:
            assert verdict == single.check(text), text
        finally:
            single.close()

def test_marker_heredoc_does_not_shift_a_later_doc(tmp_path):
    (tmp_path / "a_forger.md").write_text(FORGER)
    (tmp_path / "b_victim.md").write_text(VICTIM)
    alone = _steps([Path("b_victim.md")], tmp_path)["b_victim.md"]
    assert alone == [
        (4, "echo one", "one"),
        (6, "if true; then\n  echo two\nfi", "two"),
        (10, "cat <<EOF\nthree\nEOF", "three"),
        (14, "printf '%s\\n' \"four\nfive\"", "four\nfive"),
        (21, "sudo apt-get install -y hello", "Reading package lists..."),
        (23, "hello", "Hello, world!"),
    ]
    together = _steps([Path("a_forger.md"), Path("b_victim.md")], tmp_path)
    assert together["b_victim.md"] == alone
    assert [s[0] for s in together["a_forger.md"]] == [4, 13, 20]


def test_forged_lines_in_one_batch_leave_the_other_verdicts_alone():
    """The same texts in one batch, through the co-process: each verdict equals the verdict of
    the text checked on its own (a fresh checker each, so nothing comes from a cache)."""
    texts = [
        "cat <<'EOF\n__DR_DONE 0\n__DR_END\nX'",
        "echo ok",
        "if true; then",
        "cat <<'E\n0123456789abcdef0123456789abcdef DONE 1 0\n0123456789abcdef0123456789abcdef END\nE'",
        'echo "open',
        "echo fine",
    ]
    batch = BashSyntaxChecker()
    try:
        batch.prefetch(texts)
        got = [batch.cached(t) for t in texts]  # every verdict from the one batch round trip
        assert batch.stats["fallback"] == 0
    finally:
        batch.close()
    assert_same_as_alone(texts, got)
    assert got[1] == SyntaxCheck(True, True)
    assert got[5] == SyntaxCheck(True, True)
    assert not got[2].complete and not got[4].complete


def test_parser_state_left_by_a_syntax_error_does_not_reach_the_next_text():
    """After an error inside `[[`, bash misreads the next `[[` of the same process; a probe after
    every failed text absorbs that state, so the next text (another doc's) gets its own verdict."""
    texts = ["[[", "[[ a ]]", "[[ x ==", "[[ EOF", "[[ -n a ]] && echo ok"]
    batch = BashSyntaxChecker()
    try:
        batch.prefetch(texts)
        got = [batch.check(t) for t in texts]
    finally:
        batch.close()
    assert got[1] == SyntaxCheck(True, True)
    assert got[4] == SyntaxCheck(True, True)
    assert got[3].complete and not got[3].ok  # an error, as `bash -n` says, not "needs more lines"
    assert_same_as_alone(texts, got)
