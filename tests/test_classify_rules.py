"""The literal gate in front of the rules must never change what a rule matches."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from doctest_runner.classify import rules as R


def _case_lines() -> list[str]:
    spec = importlib.util.spec_from_file_location("classify_cases", Path(__file__).with_name(
        "test_classify_categories.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [line for case in mod.CASES for line in case[2].splitlines()]


def _gated(rule: R.Rule, line: str) -> bool:
    if R.ANY_NEEDLE is not None and not R.ANY_NEEDLE.search(line.lower()):
        return False
    return rule.match(line, line.lower()) is not None


def _plain(rule: R.Rule, line: str) -> bool:
    return rule.match(line) is not None


def test_every_rule_has_a_gate_so_the_fast_path_is_on():
    assert all(rule.needles for rule in R.RULES)
    assert R.ANY_NEEDLE is not None


def test_gate_agrees_with_the_regex_on_real_outputs():
    lines = _case_lines()
    assert len(lines) > 50
    for rule in R.RULES:
        for line in lines:
            assert _gated(rule, line) == _plain(rule, line), (rule.pattern.pattern, line)


def test_every_needle_comes_from_its_pattern():
    for rule in R.RULES:
        for needle in rule.needles:
            assert needle == needle.lower() and len(needle) >= 3


def test_required_literals():
    assert R.required_literals(r"Unable to locate package (?P<pkg>\S+)") == ("unable to locate package ",)
    # per branch, its longest literal run
    assert set(R.required_literals(r"Job for|Unit \S+ not found")) == {"job for", " not found"}
    assert R.required_literals(r"\d+\s\w") == ()  # nothing literal: no gate


_WORDS = sorted({w for rule in R.RULES for n in rule.needles for w in re.findall(r"\S+", n)} | {
    "/dev/kvm", "E:", "W:", "bash:", "sudo:", "curl:", "127.0.0.1", "'x'", "‘x’", "404", "line", "1:", ":"})


@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=12).map(" ".join), st.booleans())
def test_gate_agrees_with_the_regex_on_generated_lines(line, upper):
    line = line.upper() if upper else line
    for rule in R.RULES:
        assert _gated(rule, line) == _plain(rule, line), (rule.pattern.pattern, line)
