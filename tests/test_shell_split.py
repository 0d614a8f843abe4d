"""shell.split: a step's top-level commands, each a run of whole lines, as bash's parser decides."""

from __future__ import annotations

from doctest_runner.shell import split_units


def spans(command: str) -> list[tuple[int, int]]:
    return [(u.start, u.end) for u in split_units(command)]


def test_simple_lines_are_one_unit_each():
    assert spans("apt-get update\napt-get install -y curl\necho done") == [(0, 0), (1, 1), (2, 2)]


def test_continuations_and_operators_join_lines():
    cmd = "cd kata && \\\n  make && \\\n  make install\necho a |\n  tr a b\nfalse ||\n  true"
    assert spans(cmd) == [(0, 2), (3, 4), (5, 6)]


def test_even_backslashes_do_not_continue():
    assert spans("echo a\\\\\necho b") == [(0, 0), (1, 1)]


def test_heredoc_is_one_unit_even_with_quotes_inside():
    cmd = "cat <<EOF | sudo tee /etc/x.conf\nit's \"quoted\" $HOME\nif\nEOF\necho next"
    assert spans(cmd) == [(0, 3), (4, 4)]


def test_heredoc_with_dash_and_quoted_word():
    cmd = "cat <<-'END'\n\tvalue\n\tEND\nls"
    assert spans(cmd) == [(0, 2), (3, 3)]


def test_compound_commands():
    cmd = "for i in 1 2; do\n  echo $i\ndone\nif true; then\n  x=1\nfi\nf() {\n  echo f\n}\ncase a in\n  a) ;;\nesac"
    assert spans(cmd) == [(0, 2), (3, 5), (6, 8), (9, 11)]


def test_open_quote_runs_to_the_end():
    assert spans('echo "abc\nmore\nstill') == [(0, 2)]


def test_syntax_error_stays_its_own_unit():
    # `fi` alone never becomes valid by adding lines: it is a unit, bash reports it when it runs
    assert spans("echo a\nfi\necho b") == [(0, 0), (1, 1), (2, 2)]


def test_heredoc_delimiter_comes_from_bash_so_an_unquoted_body_line_cannot_end_it():
    # the body's `if` and the open quote would make any line look incomplete; only the `EOF` line ends it
    cmd = "cat > f <<EOF\nif \"open\nEOF\necho after"
    assert [(u.start, u.end, u.text.split("\n")[-1]) for u in split_units(cmd)] == [(0, 2, "EOF"), (3, 3, "echo after")]
