"""shell.lexer, THE lexer: commands, redirects, heredocs, quoted spans and variable references with exact offsets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from doctest_runner.shell import ALWAYS_SET, COMMON_ENV, command_words, is_common_env, lex, uses_sudo


def _cmds(text):
    return [[w.value for w in c.words] for c in lex(text).commands]


def _refs(text):
    s = lex(text)
    return [(r.name, r.op, s.line_index(r.start)) for r in s.refs]


def test_commands_split_on_operators_and_keep_pipelines():
    s = lex("a 1 && b | c; d &\ne")
    assert [[w.value for w in c.words] for c in s.commands] == [["a", "1"], ["b"], ["c"], ["d"], ["e"]]
    pipes = {c.words[0].value: (c.pipeline, c.pipe_index) for c in s.commands}
    assert pipes["b"][0] == pipes["c"][0] and pipes["c"][1] == 1
    assert pipes["a"][0] != pipes["b"][0]


def test_reserved_words_are_stripped_and_case_patterns_skipped():
    text = "if grep -q x f; then\n  echo yes\nfi\ncase $a in\n  curl|x) echo one ;;\n  *) echo two ;;\nesac"
    assert _cmds(text) == [
        ["grep", "-q", "x", "f"],
        ["echo", "yes"],
        ["case", "$a", "in"],
        ["echo", "one"],
        ["echo", "two"],
    ]


def test_quotes_and_escapes_give_values():
    (cmd,) = lex("""echo 'a b' "c $d" e\\ f $'g\\nh'""").commands
    assert [w.value for w in cmd.words] == ["echo", "a b", "c $d", "e f", "g\\nh"]
    assert [w.quoted for w in cmd.words] == [False, True, True, True, True]


def test_redirects_with_fds_and_heredoc_bodies():
    text = "sudo cat > /opt/x.toml << 'EOF'\nk = \"$NOT_EXPANDED\"\nEOF\ncmd 2>&1 >>log &>/dev/null"
    s = lex(text)
    first, second = s.commands
    assert [(r.op, r.target.value) for r in first.redirects] == [(">", "/opt/x.toml"), ("<<", "EOF")]
    assert [(r.fd, r.op, r.target.value) for r in second.redirects] == [
        ("2", ">&", "1"),
        (None, ">>", "log"),
        (None, "&>", "/dev/null"),
    ]
    assert [r.writes_file for r in second.redirects] == [False, True, True]
    (doc,) = s.heredocs
    assert doc.quoted and doc.closed and text[doc.body_start : doc.body_end] == 'k = "$NOT_EXPANDED"\n'
    assert s.refs == []  # quoted heredoc: no expansion
    assert s.line_index(second.start) == 3


def test_unquoted_heredoc_body_is_expanded_and_unclosed_is_flagged():
    s = lex("cat <<EOF\n$A \\$B `c $D`\n")
    assert [(r.name, s.line_index(r.start)) for r in s.refs] == [("A", 1), ("D", 1)]
    assert not s.heredocs[0].closed


def test_variable_references_and_their_operators():
    text = "echo $A ${B:-x} ${#C} ${D%/*} '$E' \"$F\" \\$G ${H:=1} $1 $@ ${arr[0]}"
    assert _refs(text) == [
        ("A", "", 0),
        ("B", ":-", 0),
        ("C", "#len", 0),
        ("D", "%", 0),
        ("F", "", 0),
        ("H", ":=", 0),
        ("arr", "", 0),
    ]


def test_command_substitutions_are_lexed_as_nested_commands():
    s = lex('X=$(curl -s "$URL" | jq -r .v) && echo `date +%s` <(ls $DIR)')
    nested = [[w.value for w in c.words] for c in s.commands if c.nested]
    assert nested == [["curl", "-s", "$URL"], ["jq", "-r", ".v"], ["date", "+%s"], ["ls", "$DIR"]]
    assert [r.name for r in s.refs] == ["URL", "DIR"]


def test_comments_are_spans_not_commands():
    text = "# sudo cat > /etc/x\necho a # b $C\necho d#e"
    s = lex(text)
    assert _cmds(text) == [["echo", "a"], ["echo", "d#e"]]
    assert [text[a:b] for a, b in s.comments] == ["# sudo cat > /etc/x", "# b $C"]
    assert s.refs == []


def test_quoted_spans_with_their_kind_nest_and_include_the_quotes():
    text = "echo $'it\\'s' \"a $(printf '%s' x) ${B:-'c'}\" d\\'e $\"t\""
    s = lex(text)
    assert [(text[a:b], kind) for a, b, kind in s.quotes] == [
        ("$'it\\'s'", "$'"),
        ("\"a $(printf '%s' x) ${B:-'c'}\"", '"'),
        ("'%s'", "'"),
        ('"t"', '"'),
    ]  # `'c'` inside "${...}" is literal text, `\'` is an escape: neither is a span


def test_always_set_variables_are_one_list_inside_the_common_environment():
    assert ALWAYS_SET < COMMON_ENV and {"HOME", "PWD", "UID"} <= ALWAYS_SET
    assert "http_proxy" in COMMON_ENV and "http_proxy" not in ALWAYS_SET
    assert is_common_env("LC_ALL") and is_common_env("BASH_SOURCE") and not is_common_env("VERSION")


def test_arrays_arithmetic_and_dbracket():
    s = lex("arr=(a $X 'b c')\nfor ((i=0; i<3; i++)); do :; done\n[[ $Y < b ]] && echo ok")
    assert [r.name for r in s.refs if r.op != "arith"] == ["X", "Y"]
    assert [name for name, _ in s.arith_defs] == ["i", "i"]
    (dbr,) = [c for c in s.commands if c.name == "[["]
    assert [w.value for w in dbr.words] == ["[[", "$Y", "<", "b", "]]"] and dbr.redirects == []


def test_wrappers_are_peeled():
    (cmd,) = lex("sudo -E -u root DEBIAN_FRONTEND=noninteractive apt-get install -y x").commands
    assert command_words(cmd) == ["apt-get", "install", "-y", "x"] and uses_sudo(cmd)
    (cmd,) = lex("echo x | xargs -n 1 sudo apt-get install").commands[1:]
    assert command_words(cmd) == ["apt-get", "install"]
    (cmd,) = lex("env A=1 nohup tee f").commands
    assert command_words(cmd) == ["tee", "f"] and not uses_sudo(cmd)


def test_line_continuations_join_words_across_lines():
    s = lex("docker run \\\n  -it \\\n  img")
    (cmd,) = s.commands
    assert [w.value for w in cmd.words] == ["docker", "run", "-it", "img"]
    assert s.line_index(cmd.words[2].start) == 1


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab $'\"`\\{}()<>|&;#=\n\t-", max_size=60))
def test_lexer_never_raises_and_offsets_stay_in_range(text):
    s = lex(text)
    for cmd in s.commands:
        for w in cmd.words:
            assert 0 <= w.start <= w.end <= len(text)
    for r in s.refs:
        assert 0 <= r.start < len(text)
        assert 0 <= s.line_index(r.start) <= text.count("\n")
