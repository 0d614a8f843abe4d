"""Cascades: a failed step whose failure follows from an earlier failure in the same guide.

With --keep-going, one broken step (say, the `apt-get install git` that failed) makes later steps fail
too (`git: command not found`). Those are not new doc bugs: the report links each to the FIRST failure
(`after_failure`, its `path:line`) and lists that failure once, "and K later steps failed after it".

The rule, deliberately narrow: the later failure's output names something missing (a command, a path, a
unit, a variable, a daemon, or a package after a package-sources step failed), and an earlier FAILED
step mentions or would have created that very thing (its words, the folder `git clone URL` makes, the file
`curl -o` writes, the commands `apt-get install pkg` brings, the variable it assigns). The guide's state is
then already broken in exactly that respect. A failure that names nothing missing, or something no
earlier failure mentions, stays a separate bug.
"""

from __future__ import annotations

import re
from typing import Sequence

from doctest_runner.classify.evidence import Missing, command_names, path_names
from doctest_runner.model import Step, StepResult
from doctest_runner.plan import is_site_value_skip

_OUTPUT_PATH = re.compile(r"[\w.+-]*/[\w./+-]*[\w+-]")


def _fold(names: set[str]) -> set[str]:
    """Names with `-` and `_` dropped: a project and its program differ by them (`cri-o` builds `crio`)."""
    return {n.replace("-", "").replace("_", "") for n in names} - {""}


def provided_names(step: Step) -> set[str]:
    """What a step mentions or would create (folded): its command's names, and the paths its documented
    output shows (`tar -xzvf containerd.tar.gz` printing `bin/ctr` provides `ctr`)."""
    names = set(command_names(step.command))
    for path in _OUTPUT_PATH.findall(step.expected_output or ""):
        names |= path_names(path)
    return _fold(names)


def result_location(sr: StepResult) -> str:
    """`path:line` of a failed step as every report names it: its failing line when known."""
    return f"{sr.step.path}:{sr.failed_line or sr.step.line}"


def follows_from(gone: Missing, earlier: Sequence[StepResult]) -> str | None:
    """`path:line` of the first failure that the failure described by `gone` follows from, or None.

    `earlier` are the guide's results so far, in run order. The most recent earlier failure that mentions
    a missing name is the link; its own `after_failure` (if it is a cascade itself) leads to the first one.
    """
    if not gone:
        return None
    wanted = _fold(gone.names())
    if not wanted:
        return None
    for prior in reversed(earlier):
        if prior.status != "failed":
            continue
        if wanted & provided_names(prior.step):
            return prior.after_failure or result_location(prior)
    return None


def after_unjudged_step(gone: Missing, earlier: Sequence[StepResult]) -> StepResult | None:
    """The earlier step this failure needs that was not run because it could not be judged here (it holds a
    site generator's value no sidecar var fills), or None.

    The reader would have run that step (it is on their platform), so what it provides is missing through
    the harness, not through the doc: `kind: command not found` after the skipped download of kind. Steps
    skipped as another platform's are not meant for this reader and provide nothing here."""
    wanted = _fold(gone.names()) if gone else set()
    if not wanted:
        return None
    for prior in earlier:  # the first such step: a later one that mentions it uses it rather than makes it
        if prior.status == "skipped" and is_site_value_skip(prior.step.reason) and wanted & provided_names(prior.step):
            return prior
    return None


def later_count(results: Sequence[StepResult], first: StepResult) -> int:
    """How many steps failed after `first` (linked to it)."""
    where = result_location(first)
    return sum(1 for r in results if r.after_failure == where and r is not first)
