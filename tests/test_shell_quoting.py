"""shell.quoting: one decoder for a word's quoting, behind both `unquote` (saved state) and `literal_value` (lint)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from doctest_runner.shell import literal_value, unquote


def test_literal_value_maps_each_character_back_to_where_it_was_written():
    text = "'a b'\"c\\\"d\"e\\ f\\\ng"
    value, offsets = literal_value(text)
    assert value == 'a bc"de fg'
    assert [text[k] for k in offsets] == list(value)


def test_ansi_c_quotes_are_decoded_for_state_but_not_mapped_for_lint():
    assert unquote("$'it\\'s\\x41\\101'") == "it'sAA"
    assert literal_value("$'it\\'s'") is None


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet="ab'\"\\$`{}x", max_size=24).filter(lambda w: "$'" not in w))
def test_both_readings_agree_on_words_without_blanks(word):
    lit = literal_value(word)
    assert lit is not None and len(lit[0]) == len(lit[1])
    assert unquote(word) == lit[0]
