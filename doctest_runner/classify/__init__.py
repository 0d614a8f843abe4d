"""Failure classification: a failed step -> category + one-line explanation + evidence line.

    from doctest_runner.classify import classify
    verdict = classify(step, exec_result, kvm_available=False)
    verdict.category, verdict.explanation, verdict.evidence
"""

from doctest_runner.classify.core import NO_OUTPUT, Verdict, classify, verdict_for_mismatch
from doctest_runner.classify.text import clean_lines, strip_ansi, trim

__all__ = ["NO_OUTPUT", "Verdict", "classify", "clean_lines", "strip_ansi", "trim", "verdict_for_mismatch"]
