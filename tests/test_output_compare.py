"""Expected-output comparison: normalisation, `...` wildcards, and the first differing line."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from doctest_runner.checks.output import OutputMismatch, compare_output
from doctest_runner.classify import verdict_for_mismatch


def test_identical_after_normalisation():
    assert compare_output("a\nb\n", "\n\na  \r\nb\t\r\n\n\n") is None
    assert compare_output("", "") is None
    assert compare_output("\x1b[32mok\x1b[0m", "ok") is None  # colour codes are not content


def test_kata_runtime_version_with_fragment_wildcards():
    expected = "kata-runtime  : ...\n   commit   : ...\n   OCI specs: 1.0.2-dev"
    actual = "kata-runtime  : 3.2.0\n   commit   : 8bd6cc1a46b0de9e3dba4e9d4f8a7c0c1a0b2b6b\n   OCI specs: 1.0.2-dev\n"
    assert compare_output(expected, actual) is None


def test_wildcard_line_matches_any_number_of_lines_including_none():
    expected = "Reading package lists...\n...\nSetting up jq (1.6-2.1) ..."
    assert compare_output(expected, "Reading package lists... Done\nSetting up jq (1.6-2.1) ...") is None
    many = "Reading package lists... Done\n" + "\n".join(f"Unpacking p{i} ..." for i in range(500))
    assert compare_output(expected, many + "\nSetting up jq (1.6-2.1) ...") is None
    assert compare_output("...", "") is None
    assert compare_output("...\n...", "x\ny") is None


def test_first_differing_line_is_named():
    m = compare_output("NAME    STATUS\nkata    Ready\nrunc    Ready", "NAME    STATUS\nkata    NotReady\nrunc    Ready")
    assert isinstance(m, OutputMismatch)
    assert m.message == 'line 2 of the expected output: expected "kata    Ready", got "kata    NotReady"'
    assert (m.expected_index, m.actual_index, m.evidence) == (1, 1, "kata    NotReady")


def test_line_numbers_count_from_the_expected_text_as_written():
    m = compare_output("\n\nfirst\nsecond", "first\nother")
    assert m is not None and m.expected_index == 3 and m.message.startswith("line 4 ")
    assert m.doc_line(101) == 104


def test_output_too_short_and_too_long():
    short = compare_output("a\n...\nz", "a\nb\nc")
    assert short.message == 'line 3 of the expected output: expected "z", but the output ended'
    assert short.actual_line is None and short.evidence == "c"
    long = compare_output("a", "a\nextra")
    assert long.message == 'after the expected output: unexpected extra line "extra"'
    assert long.expected_line is None and long.evidence == "extra"
    nothing = compare_output("hello", "")
    assert nothing.evidence == "(no output)"


def test_fragment_wildcard_is_anchored_on_both_ends():
    assert compare_output("Version: ...", "Version: 3.2.0") is None
    assert compare_output("Version: ...", "Client Version: 3.2.0") is not None
    assert compare_output("... ready", "node ready now") is not None


def test_special_characters_are_literal():
    assert compare_output("a.b*c (x) [y] $z ^", "a.b*c (x) [y] $z ^") is None
    assert compare_output("a.b", "axb") is not None


def test_wildcard_does_not_hide_a_real_difference_after_it():
    m = compare_output("start\n...\nend: ok", "start\nx\ny\nend: FAILED")
    assert m is not None and m.expected_line == "end: ok"


@given(st.lists(st.text(alphabet="abc. ", max_size=6), max_size=8))
def test_text_always_matches_itself_and_a_lone_wildcard(lines):
    text = "\n".join(lines)
    assert compare_output(text, text) is None
    assert compare_output("...", text) is None


def test_one_wording_of_the_mismatch_verdict():
    """The runner (`output=check`) and `classify` word an output mismatch through the same function."""
    m = compare_output("Debian 12\n", "Debian 13\n")
    assert m is not None
    v = verdict_for_mismatch(m)
    assert v.category == "output-mismatch" and v.group == "doc"
    assert v.explanation == ('the output differs from the documented output: line 1 of the expected output: '
                             'expected "Debian 12", got "Debian 13"')
    assert v.evidence == "Debian 13"
    blank = compare_output("a\nb\n", "a\n\nb\n")  # the printed line where it differs is empty: shown as empty
    assert blank is not None and verdict_for_mismatch(blank).evidence == ""
