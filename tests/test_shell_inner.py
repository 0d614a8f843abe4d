"""Shell inside shell (issue 10): the script a step hands to another shell is syntax-checked like a step.

`sh -c '...'`, `sudo bash -c`, `ssh host '...'`, `watch '...'`, `script -fec`, `docker exec ... bash -c`,
`kubectl exec ... -- sh -c`: lint reports a broken quote inside the string at the doc line of its own line,
and at run time the inner shell's `bash: -c: line N` / `sh: N: Syntax error` points at the same doc line.
Line numbers were read off `cat -n` of the Markdown below.
"""

from __future__ import annotations

import pytest

from doctest_runner.classify.inner import inner_failed_line, reported_line
from doctest_runner.lint import lint_paths
from doctest_runner.shell import inner_scripts, literal_value
from doctest_runner.parse import parse_file

GUIDE = """\
# Inner shells

Write the config as root:

```bash
sudo sh -c 'cat > /etc/app.conf <<EOF
name=app
EOF
echo "done
systemctl restart app'
```

These are fine:

```bash
sudo sh -c "echo x > /etc/y"
ssh host 'cmd'
watch 'kubectl get pods'
bash -c "$CMD"
sudo bash -c 'set -e
  apt-get update
  apt-get install -y curl'
```

These are not:

```bash
ssh admin@db 'if systemctl is-active db; then echo up'
watch -n 5 'kubectl get pods | grep -v Running)'
ssh web1 "sudo sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward; if true'"
```

```console
$ kubectl exec -it web -- sh -c 'echo "$(hostname)'
$ docker exec app bash -c "ls /data; for f in *; do echo \\$f"
$ script -fec 'make install"' /dev/null
```
"""


@pytest.fixture
def guide(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text(GUIDE)
    return path


def test_lint_reports_each_inner_error_at_its_own_line(guide):
    report = lint_paths([str(guide)])
    assert report.errors == []
    syntax = {f.line: f.message for f in report.findings if f.rule == "syntax"}
    assert sorted(syntax) == [9, 28, 29, 30, 34, 35, 36]
    # the quote opened on the 4th line of the multi-line `sh -c` string (doc line 9), not the step's line 6
    assert syntax[9].startswith("bash cannot parse the script `sh -c` runs: unexpected EOF while looking for")
    assert "`ssh` runs" in syntax[28] and "`watch` runs" in syntax[29] and "unexpected token `)'" in syntax[29]
    assert "`sh -c` runs" in syntax[30]  # ssh -> sudo sh -c, nested
    assert "`bash -c` runs" in syntax[35] and "`script -c` runs" in syntax[36]
    # fine: sudo sh -c with a redirect, ssh/watch with a plain command, an expansion, a multi-line bash -c
    assert not {16, 17, 18, 19, 20, 21, 22} & set(syntax)


def test_extraction_words_and_lines():
    text = "echo hi\nsudo bash -ec 'set -x\n  apt-get update\n'"
    [inner] = inner_scripts(text)
    assert (inner.launcher, inner.text, inner.line_map) == ("bash -c", "set -x\n  apt-get update\n", (1, 2, 3))
    assert [i.text for i in inner_scripts("ssh -p 2222 -i key admin@h sudo systemctl restart x")] == [
        "sudo systemctl restart x"]
    assert [i.text for i in inner_scripts("su - postgres -c 'psql -c \"select 1\"'")] == ['psql -c "select 1"']
    assert [i.text for i in inner_scripts("find . -exec sh -c 'echo $1' _ {} \\;")] == ["echo $1"]
    assert [i.text for i in inner_scripts('docker exec -it c bash -c "echo \\"hi\\""')] == ['echo "hi"']
    for text in ('bash -c "$CMD"', "bash -c \"${SCRIPT}\"", "watch -n 5 -x ls", "bash script.sh",
                 "sh -c '<your command>'", "python3 -c 'print(1'", "sudo -u postgres psql -c 'select ('",
                 "ssh host", "docker run -it debian bash"):
        assert inner_scripts(text) == [], text
    assert literal_value("'a b'\"c\\\"d\"e\\ f") == ('a bc"de f', [1, 2, 3, 6, 8, 9, 11, 13, 14])
    assert literal_value("$'a\\nb'") is None


def _step(guide, line):
    return next(s for s in parse_file(str(guide)).steps if s.line == line)


def test_run_time_error_points_at_the_inner_line(guide):
    step = _step(guide, 6)
    bash_out = "done\nbash: -c: line 4: unexpected EOF while looking for matching `\"'\n"
    dash_out = "sh: 6: Syntax error: Unterminated quoted string\n"
    assert reported_line(bash_out) == 4 and reported_line(dash_out) == 6
    assert inner_failed_line(step, bash_out, 0) == 9
    assert inner_failed_line(step, dash_out, 0) == 9  # bash -n finds the opening quote; dash names the end
    assert inner_failed_line(step, "E: Unable to locate package x\n", 0) is None
    block = _step(guide, 28)  # one step, three commands: the failing one (0-based line 1) picks its script
    assert inner_failed_line(block, "sh: 1: Syntax error: \")\" unexpected\n", 1) == 29
    assert inner_failed_line(block, "bash: -c: line 1: syntax error: unexpected end of file\n", 0) == 28
    assert inner_failed_line(block, "sh: 1: Syntax error: end of file unexpected (expecting \"fi\")\n", 2) == 30


def test_run_time_dash_only_error_uses_the_line_dash_names(tmp_path):
    """bash accepts `function f {`; dash does not: the line dash names, mapped through the string."""
    path = tmp_path / "dash.md"
    path.write_text("# Dash\n\n```bash\nsh -c 'echo one\nfunction greet {\n  echo hi\n}\ngreet'\n```\n")
    step = _step(path, 4)
    assert inner_failed_line(step, 'one\nsh: 4: Syntax error: "}" unexpected\n', 0) == 7


def test_outer_shell_messages_are_not_taken_for_inner_ones(tmp_path):
    """A root step runs as `sudo bash -c <step>`: its own error says `bash: -c: line N` too. With no inner script,
    or when the step itself does not parse, nothing is remapped."""
    path = tmp_path / "outer.md"
    path.write_text("# Outer\n\n```bash\necho one\nif true; then echo two\n```\n\n```bash\nsudo apt-get update\n```\n")
    broken = _step(path, 4)
    assert inner_failed_line(broken, "bash: -c: line 3: syntax error: unexpected end of file\n", 1) is None
    plain = _step(path, 9)
    assert inner_failed_line(plain, "bash: -c: line 1: syntax error near unexpected token `)'\n", 0) is None
