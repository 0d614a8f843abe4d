"""shell.expansions: the masking behind the placeholder, empty-expansion and sudo-redirect verdicts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from doctest_runner.shell import (
    assigned_vars,
    empty_expansions,
    mask,
    placeholders,
    sudo_redirects,
)
from doctest_runner.text import clean_lines, trim, trim_around


def test_mask_blanks_quotes_and_heredoc_bodies_keeping_offsets():
    cmd = "echo 'a <b>' \"$X <c>\" <d>\ncat <<'EOF' >f\n<html>\nEOF\nls"
    m = mask(cmd)
    assert len(m.unquoted) == len(cmd) == len(m.single)
    assert "<html>" not in m.text and m.text.endswith("\nls")  # here-doc body blanked
    assert "<b>" not in m.unquoted and "<c>" not in m.unquoted and "<d>" in m.unquoted
    assert "$X <c>" in m.single  # double quotes still expand


def test_placeholders_quoted_or_not():
    found = placeholders('kubectl logs <pod-name> -n "<namespace>"\n# see <docs>')
    assert [(p.text, p.quoted, p.line_index) for p in found] == [("<pod-name>", False, 0), ("<namespace>", True, 0)]


def test_placeholders_ignore_redirections_and_process_substitution():
    assert placeholders("sort <in.txt >out.txt") == []
    assert placeholders("diff <(ls a) <(ls b)") == []
    assert placeholders("cat <<-EOF\n\t<x>\n\tEOF") == []
    assert placeholders("grep x <<< \"$a\"") == []
    assert placeholders("x=$((a<b))") == []


def test_assigned_vars():
    cmd = "export VERSION=3.2\nARCH=$(uname -m) make\nread -r NAME AGE\nfor f in *; do :; done\nlocal L=1"
    assert assigned_vars(cmd) >= {"VERSION", "ARCH", "NAME", "AGE", "f", "L"}


def test_empty_expansions_only_for_variables_the_step_does_not_set():
    cmd = 'curl -LO "https://x.org/v${VERSION}/kata-${VERSION}-${ARCH}.tgz"'
    (exp,) = empty_expansions(cmd)
    assert (exp.var, exp.expanded) == ("VERSION", "https://x.org/v/kata--.tgz")
    # VERSION is set by the step, so its value is unknown: no claim about what the word became
    assert empty_expansions("VERSION=1\n" + cmd) == []
    assert empty_expansions("export VERSION=1\n" + 'wget "https://x.org/${ARCH}/file.tgz"')[0].var == "ARCH"
    assert empty_expansions("echo '$VERSION is literal here'") == []
    assert empty_expansions("cd $HOME/src") == []


def test_sudo_redirects():
    assert [r.target for r in sudo_redirects("sudo echo x > /etc/a\nsudo cat f >> '/etc/b'")] == ["/etc/a", "/etc/b"]
    # the user's shell opens /dev/null: true, and harmless (the verdict needs a denial naming the target)
    assert [r.target for r in sudo_redirects("echo x | sudo tee /etc/a > /dev/null\n")] == ["/dev/null"]
    assert sudo_redirects("sudo sh -c 'echo x > /etc/a'") == []
    assert sudo_redirects("sudo make 2>&1") == []


def test_clean_lines_and_trim():
    assert clean_lines("a\r\nb\x1b[0m\n 10%\r100%\n") == ["a", "b", "100%", ""]
    assert trim("  x  ") == "x"
    assert trim("y" * 300, 10) == "y" * 9 + "…"
    line = "a" * 300 + " MATCH " + "b" * 300
    cut = trim_around(line, 301, 306, 100)
    assert "MATCH" in cut and len(cut) == 100 and cut.startswith("…") and cut.endswith("…")


@given(st.text(alphabet="ab <>'\"$\\\n#-{}EOF", max_size=80))
def test_mask_never_changes_length_or_crashes(cmd):
    m = mask(cmd)
    assert len(m.text) == len(m.unquoted) == len(m.single) == len(cmd)
    placeholders(cmd)
    sudo_redirects(cmd)
    empty_expansions(cmd)


def test_ansi_c_quote_with_escaped_quote_does_not_hide_the_placeholder():
    # `$'it\'s'` is one word: the `\'` does not close it, so `<name>` after it is unquoted
    found = placeholders("echo $'it\\'s' <name>\nls '<kept>'")
    assert [(p.text, p.quoted, p.line_index) for p in found] == [("<name>", False, 0), ("<kept>", True, 1)]
    m = mask("echo $'it\\'s' <name>")
    assert m.unquoted == "echo          <name>" and m.single == m.unquoted


def test_heredoc_operator_inside_quotes_opens_no_heredoc():
    found = placeholders('echo "use <<EOF here" <first>\nls <second>')
    assert [(p.text, p.quoted, p.line_index) for p in found] == [("<first>", False, 0), ("<second>", False, 1)]


def test_quotes_nest_in_command_substitutions():
    cmd = "echo \"$(printf '%s' '<inner>')\" <outer> \"${A}x<dq>\""
    found = placeholders(cmd)
    assert [(p.text, p.quoted) for p in found] == [("<inner>", True), ("<outer>", False), ("<dq>", True)]
    assert "'<inner>'" not in mask(cmd).single  # single-quoted even inside "$( )": no expansion there


def test_dash_heredoc_body_and_its_closing_line_are_blanked():
    cmd = "cat <<-'E1' >f\n\t<in> $X\n\tE1\necho <out>"
    m = mask(cmd)
    assert m.text.split("\n")[1:3] == [" " * 8, "   "] and m.text.endswith("echo <out>")
    assert [p.text for p in placeholders(cmd)] == ["<out>"]
