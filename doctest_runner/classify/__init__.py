"""Failure classification: a failed step -> category + one-line explanation + evidence line.

    from doctest_runner.classify import classify
    verdict = classify(step, exec_result, kvm_available=False)
    verdict.category, verdict.explanation, verdict.evidence

`core` orders the output rules (`rules`); `assumed` turns a doc-bug verdict the guide's own words explain into
`prerequisite` / `prose-step`; `evidence` names what a failure says is missing, `cascade` whether an earlier
step explains it, `inner` the doc line of a syntax error inside `sh -c '...'`. The runner uses the names below;
`verdict_for_mismatch` is the one wording of an output-mismatch verdict.
"""

from doctest_runner.classify.assumed import GuideContext
from doctest_runner.classify.cascade import after_unjudged_step, follows_from
from doctest_runner.classify.core import NO_OUTPUT, Verdict, classify, verdict_for_mismatch
from doctest_runner.classify.evidence import Missing, missing
from doctest_runner.classify.inner import inner_failed_line

__all__ = [
    "NO_OUTPUT",
    "GuideContext",
    "Missing",
    "Verdict",
    "after_unjudged_step",
    "classify",
    "follows_from",
    "inner_failed_line",
    "missing",
    "verdict_for_mismatch",
]
