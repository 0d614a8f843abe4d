"""Bad input gives one clear error (file:line) or a correct result - never a traceback."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doctest_runner.model import DoctestError
from doctest_runner.parse import parse_file, parse_text


def test_missing_file(tmp_path):
    with pytest.raises(DoctestError) as err:
        parse_file(tmp_path / "nope.md", display_path="docs/nope.md")
    assert str(err.value) == "docs/nope.md: no such file"
    assert err.value.line is None


def test_directory(tmp_path):
    with pytest.raises(DoctestError) as err:
        parse_file(tmp_path)
    assert err.value.path == str(tmp_path) and "directory" in err.value.message


def test_fifo_is_refused_not_read_forever(tmp_path):
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    with pytest.raises(DoctestError) as err:
        parse_file(fifo, display_path="pipe.md")
    assert str(err.value) == "pipe.md: not a regular file"


def test_path_under_a_file(tmp_path):
    f = tmp_path / "file.md"
    f.write_text("x")
    with pytest.raises(DoctestError) as err:
        parse_file(f / "sub.md")
    assert "no such file" in err.value.message


def test_non_utf8_names_the_line_of_the_first_bad_byte(tmp_path):
    p = tmp_path / "latin1.md"
    p.write_bytes("# Titre\n\nDéjà vu\n".encode() + b"caf\xe9 cr\xe8me\n")
    with pytest.raises(DoctestError) as err:
        parse_file(p, display_path="latin1.md")
    assert (err.value.path, err.value.line) == ("latin1.md", 4)
    assert str(err.value) == "latin1.md:4: not valid UTF-8 (byte 0xe9 at column 4)"


def test_binary_file(tmp_path):
    p = tmp_path / "image.md"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DoctestError) as err:
        parse_file(p)
    assert err.value.line == 3 and "binary" in err.value.message  # two \n before the first NUL


def test_empty_doc(tmp_path):
    p = tmp_path / "empty.md"
    p.write_text("")
    parsed = parse_file(p)
    assert (parsed.steps, parsed.errors, parsed.blocks, parsed.prose) == ([], [], [], [])


def test_unterminated_fence_file(tmp_path):
    p = tmp_path / "open.md"
    p.write_text("# T\n\n```bash\n$ ls\n")
    parsed = parse_file(p, display_path="open.md")
    assert [str(e) for e in parsed.errors] == ["open.md:3: unterminated code fence: ``` opened here is never closed"]
    assert [(s.line, s.command) for s in parsed.steps] == [(4, "ls")]


def test_step_path_is_the_display_path(tmp_path):
    p = tmp_path / "g.md"
    p.write_text("```bash\nls\n```\n")
    assert parse_file(p, display_path="docs/g.md").steps[0].id == "docs/g.md:2"
    assert parse_file(p).steps[0].path == str(p)
    assert parse_file(str(p)).steps[0].path == str(p)


PROSE = ("Kata Containers is an open source project and community working to build a standard "
         "implementation of lightweight virtual machines that feel and perform like containers. ") * 6


def test_five_megabyte_doc_is_parsed_correctly(tmp_path):
    """A huge guide (mostly prose, as real ones are): every step found, at the right lines."""
    section = (
        "## Part {i}\n\n" + (PROSE + "\n\n") * 3 +
        "- Unpack the archive.\n- Then run:\n\n  ```console\n  $ echo part-{i} \\\n      --flag\n  part-{i}\n"
        "  $ cat <<EOF > f{i}\n  x: {i}\n  EOF\n  ```\n\n"
    )
    parts = []
    size = 0
    i = 0
    while size < 5 * 1024 * 1024:
        s = section.format(i=i)
        parts.append(s)
        size += len(s)
        i += 1
    p = tmp_path / "big.md"
    p.write_text("".join(parts))
    parsed = parse_file(p, display_path="big.md")
    assert parsed.errors == []
    assert len(parsed.steps) == 2 * i
    lines_per_section = section.count("\n")
    first = parsed.steps[0]
    assert (first.line, first.end_line, first.command, first.expected_output) == (
        13, 14, "echo part-0 \\\n    --flag", "part-0")
    last = parsed.steps[-1]
    base = (i - 1) * lines_per_section
    assert (last.line, last.end_line, last.command) == (base + 16, base + 18, f"cat <<EOF > f{i - 1}\nx: {i - 1}\nEOF")
    assert len(parsed.prose) == i  # "Unpack the archive." once per part
    assert parsed.prose[-1].line == base + 9


# ------------------------------------------------------------------ property-based

FRAGMENTS = [
    "```", "```bash", "```console", "```yaml title=\"/etc/x.yaml\"", "~~~", "````", "```{.sh}", "$ ", "$", "$sudo ",
    "/ # ", "bash-4.2# ", "> ", ">", "# ", "## H", "- ", "1. ", "    ", "  ", "\t", '"', "'", "`", "\\", "<<EOF",
    "EOF", "<<-'X'", "X", "<!--", "-->", "<!-- doctest: skip -->", "<!-- doctest: setup", "<!-- doctest: bogus=1 -->",
    "doctest:", "=== \"Ubuntu\"", "!!! note", "???+ tip", "if true; then", "fi", "for x in a; do", "done", "case",
    "esac", "{", "}", "$(", ")", "echo hi", "sudo apt-get install -y x", "Download the file.", "é", "\u2028", "\r",
    "\x0c", "[x]: y", "***", "|a|b|",
    # issue #11: the co-process's old answer markers, deep substitutions, lone surrogates
    "__DR_DONE 0", "__DR_END", "<<'EOF\n__DR_END\nX'", "$(echo " * 40, ")" * 40, "\ud800", "\udfff",
]

markdownish = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.sampled_from(["\n", "\n", "\n\n", " "]), st.text(max_size=5)),
    max_size=60,
).map("".join)


def _line_map_is_true(step, raw_lines: list[str]) -> None:
    """Each command line is really on the doc line the line map names (file steps excepted:
    their first and last lines are the synthetic `tee` and end marker)."""
    lines = step.command.split("\n")
    pairs = list(zip(lines, step.line_map))
    if step.file_path is not None:  # also hidden setup blocks that write a file
        pairs = pairs[1:-1]
    for cmd_line, doc_line in pairs:
        raw = raw_lines[doc_line - 1]
        want = cmd_line.strip()
        assert want in raw or want in raw.expandtabs(4) or want.expandtabs(4) in raw.expandtabs(4), (
            step.id, cmd_line, raw)


def _check_invariants(text: str) -> None:
    parsed = parse_text(text, "p.md")
    raw_lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    assert not [e for e in parsed.errors if "internal" in e.message], parsed.errors
    n_lines = text.replace("\r\n", "\n").count("\n") + 1
    blocks = {b.line: b for b in parsed.blocks}
    for step in parsed.steps:
        assert 1 <= step.line <= step.end_line <= n_lines, (step, n_lines)
        assert len(step.line_map) == step.command.count("\n") + 1
        assert all(1 <= ln <= n_lines for ln in step.line_map)
        block = blocks[step.block_line]
        assert block.line <= step.line and step.end_line <= block.end_line
        _line_map_is_true(step, raw_lines)
    for prose in parsed.prose:
        assert 1 <= prose.line <= n_lines
    for err in parsed.errors:
        assert err.line is None or 1 <= err.line <= n_lines
    assert len({s.id for s in parsed.steps}) == len(parsed.steps)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdownish)
def test_random_markdown_never_raises_and_lines_stay_in_the_doc(text):
    _check_invariants(text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text):
    _check_invariants(text)


_LINES = st.sampled_from([
    "$ echo a", "$ cat <<EOF", "EOF", "> x", "output", "", "# c", '$ echo "q', 'q"', "/ # ls", "  nested: 1",
    "$ for i in a; do", "done", "echo b \\", "  --flag", "\t$ tabbed", "$sudo x",
])


@st.composite
def _fence(draw):
    fence = draw(st.sampled_from(["```", "~~~", "````"]))
    info = draw(st.sampled_from(["bash", "console", "", 'sh title="$ ls"', 'yaml title="/e/x.yaml"', "{.bash}"]))
    closed = draw(st.integers(0, 3)) > 0
    return [fence + info] + draw(st.lists(_LINES, max_size=6)) + ([fence] if closed else [])


@st.composite
def _container(draw, depth=0):
    kind = draw(st.sampled_from(
        ["fence", "list", "olist", "quote", "tab", "admonition", "indented", "annotated", "hidden", "para"]))
    if kind == "fence":
        return draw(_fence())
    if kind == "para":
        return [draw(st.sampled_from(["Download the thing.", "# A", "## B", "Setext", "---", "Run this:"]))]
    if kind == "indented":
        return ["    " + ln for ln in draw(st.lists(_LINES, min_size=1, max_size=4))]
    if kind == "annotated":
        return [draw(st.sampled_from(["<!-- doctest: skip -->", "<!-- doctest: timeout=5 x=1 -->"]))] + draw(_fence())
    if kind == "hidden":
        return ["<!-- doctest: setup"] + draw(_fence()) + ["-->"]
    inner: list[str] = []
    if depth < 3:
        for _ in range(draw(st.integers(1, 3))):
            inner += draw(_container(depth + 1)) + [""]
    else:
        inner = draw(_fence())
    pad = {"list": "  ", "olist": "   ", "tab": "    ", "admonition": "    "}.get(kind)
    head = {"list": ["- Item", ""], "olist": ["1. Item", ""], "tab": ['=== "Ubuntu"'], "admonition": ['!!! note "N"']}
    if kind == "quote":
        return ["> " + ln for ln in inner]
    return head[kind] + [pad + ln if ln else "" for ln in inner]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_container(), min_size=1, max_size=5))
def test_nested_containers_keep_exact_line_maps(parts):
    """Lists, quotes, tabs and admonitions nested in each other around fences: every command
    line is found on the doc line its line map names."""
    lines: list[str] = []
    for part in parts:
        lines += part + [""]
    _check_invariants("\n".join(lines))


@pytest.mark.parametrize(
    "text",
    [
        '<!-- doctest: setup\n```yaml title="/etc/x.yaml"\n```bash',
        "```\n$ a\n", "- ```bash\n  $ x\n", ">```\n>$ y\n", "<!-- doctest: setup\n```\n", "=== \"Ubuntu\"\n    ```\n",
        "- \n  ```bash\n  ls\n  ```\n", "1.\n   ```bash\n   ls\n   ```\n", "- a\n-\n  ```bash\n  ls\n  ```\n",
        "\n" * 5 + "    $ ls", "- x\n\n        $ indented code in item\n", "> - ```\n>   $ q\n",
    ],
)
def test_tricky_container_edges(text):
    _check_invariants(text)


# ------------------------------------------------------------------ issue #11 payloads

_HOSTILE = [
    # a heredoc whose delimiter and body hold the syntax checker's old fixed answer markers
    "# A\n\n```console\n$ cat <<'EOF\n__DR_DONE 0\n__DR_END\nX'\n$ echo after\nafter\n```\n",
    "```console\n$ cat <<EOF\n__DR_DONE 0\n__DR_END\nEOF\n$ echo b\nb\n```\n",
    # 3,000 nested command substitutions, prompted and bare
    "```console\n$ echo " + "$(echo " * 3000 + "x" + ")" * 3000 + "\nx\n```\n",
    "```bash\necho " + "`echo " * 200 + "\n```\n",
    # lone surrogates in a command, an annotation, a heading and output
    "# T\ud800\n\n<!-- doctest: reason=\"\udfff\" -->\n```console\n$ echo \ud800\n\udc80\n```\n",
]


@pytest.mark.parametrize("text", _HOSTILE)
def test_hostile_payloads(text):
    _check_invariants(text)


def test_marker_heredoc_leaves_the_next_doc_alone():
    """A doc parsed after one whose heredoc holds the old answer markers gets its own steps (its
    commands are new to the checker's cache, so bash really answers them after the payload)."""
    import uuid

    tag = uuid.uuid4().hex[:8]
    second = (f"```console\n$ echo one-{tag}\none\n$ if true; then\n>   echo two-{tag}\n> fi\ntwo\n"
              f"$ echo \"three-{tag}\n> x\"\nthree\n```\n")
    parse_text(_HOSTILE[0], "a.md")
    parse_text(_HOSTILE[1], "a2.md")
    steps = [(s.line, s.command, s.expected_output) for s in parse_text(second, "b.md").steps]
    assert steps == [
        (2, f"echo one-{tag}", "one"),
        (4, f"if true; then\n  echo two-{tag}\nfi", "two"),
        (8, f'echo "three-{tag}\nx"', "three"),
    ]
