"""Catch and fix (issue #14): for a failed step, propose edits to the doc, decide from a re-run whether they fix
the guide, and write the proven ones as patches and review suggestions.

    from doctest_runner.fix import CapturedFacts, apply_to_steps, decide, propose, write_fixes, Fix
    facts = CapturedFacts(terminal.capture)          # what only the guest knows (fixed commands)
    for cand in propose(failed_result, plan.steps, facts):
        steps = apply_to_steps(plan.steps, cand)     # run these from the checkpoint before the failed step
        verdict = decide(before_results, after_results, cand)
    write_fixes(out_dir, fixes)                      # fixes/<doc>.patch (verified only) and fixes.md

`proposers` holds one module per failure cause (pure functions over the failed step, the guide's steps and
`GuestFacts`); `patch` puts edits back with the doc's formatting and writes `git apply` diffs; `verify` is the
pure verdict; `outputs` the files; `manual` a person's edit (walk) and writing fixes into the doc. The runs
that try candidates are run/'s (run/fixes.py: `run --suggest-fixes`, `doctest-runner fix`). Sits above classify
(it reads verdicts) and below report/run (they show and drive it).
"""

from doctest_runner.fix.facts import CapturedFacts, GuestFacts, closest
from doctest_runner.fix.manual import edited_step, write_back
from doctest_runner.fix.model import Candidate, Edit, Verdict
from doctest_runner.fix.outputs import FIXES_MD, Fix, fix_record, with_patches, write_fixes
from doctest_runner.fix.patch import apply_edits, check_patched, read_source, suggestion, unified_diff
from doctest_runner.fix.proposers import PROPOSERS, propose
from doctest_runner.fix.verify import apply_to_steps, decide

__all__ = [
    "FIXES_MD",
    "PROPOSERS",
    "Candidate",
    "CapturedFacts",
    "Edit",
    "Fix",
    "GuestFacts",
    "Verdict",
    "apply_edits",
    "apply_to_steps",
    "check_patched",
    "closest",
    "decide",
    "edited_step",
    "fix_record",
    "propose",
    "read_source",
    "suggestion",
    "unified_diff",
    "with_patches",
    "write_back",
    "write_fixes",
]
