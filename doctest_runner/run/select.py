"""Which guides and steps a run selects: by path, heading, step name, or a pytest-style `-k` expression.

A guide is a sequence: a later step depends on the earlier ones. So selecting a step
means running the guide up to and including it; steps after the last selected step
are left out ("deselected"), and a guide with no selected step is not run at all.
`doctest-runner run -k` and the pytest plugin (`pytest -k`) share `step_keywords` (what
`-k` matches) and `needed_steps` (what a selection runs), so both run the same steps.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from doctest_runner.model import DoctestError, Plan, Step

if TYPE_CHECKING:  # pytest's own -k grammar; imported only when a -k expression is compiled
    from _pytest.mark.expression import Expression


@dataclass(frozen=True)
class Selection:
    keyword: str | None = None  # -k expression, as pytest's -k
    heading: str | None = None  # substring of the heading path ("A > B")
    name: str | None = None  # step name from an annotation or sidecar

    @property
    def empty(self) -> bool:
        return not (self.keyword or self.heading or self.name)


def step_keywords(plan: Plan, step: Step) -> list[str]:
    """The words `-k` matches a step by (any substring, any case): the guide's path and its parts, the step id,
    `line12` and `L12` (the pytest id), the headings, the step's name and the first line of its command."""
    words = [plan.path, *plan.path.split("/"), step.id, f"line{step.line}", f"L{step.line}", *step.heading]
    if step.options.name:
        words.append(step.options.name)
    words.append(step.command.splitlines()[0] if step.command else "")
    return [w for w in words if w]


def step_matches(plan: Plan, step: Step, sel: Selection, expr: Expression | None = None) -> bool:
    if sel.heading and sel.heading.lower() not in " > ".join(step.heading).lower():
        return False
    if sel.name and step.options.name != sel.name:
        return False
    if sel.keyword:
        expr = expr or compile_keyword(sel.keyword)
        words = [w.lower() for w in step_keywords(plan, step)]

        def matches(ident: str, /, **_: str | int | bool | None) -> bool:  # as pytest's -k: a substring, any case
            return any(ident.lower() in w for w in words)

        return expr.evaluate(matches)
    return True


def compile_keyword(keyword: str) -> Expression:
    from _pytest.mark.expression import Expression  # lazy: pytest's -k parser, loaded only when -k is given

    try:
        return Expression.compile(keyword)
    except SyntaxError as exc:  # a malformed expression: pytest raises SyntaxError
        raise DoctestError(f"bad -k expression {keyword!r}: {exc}") from None


def needed_steps(steps: Sequence[Step], selected: Collection[str]) -> list[Step]:
    """The steps a selection (step ids) runs: every step up to the last selected one, in order, since a guide
    builds on itself; none when no step is selected."""
    last = max((i for i, s in enumerate(steps) if s.id in selected), default=-1)
    return list(steps[: last + 1])


def apply_selection(plans: list[Plan], sel: Selection) -> list[Plan]:
    """Plans restricted to the selection (steps after the last selected one: skipped as deselected)."""
    if sel.empty:
        return plans
    expr = compile_keyword(sel.keyword) if sel.keyword else None
    out = []
    for plan in plans:
        hits = {s.id for s in plan.steps if step_matches(plan, s, sel, expr)}
        keep = {s.id for s in needed_steps(plan.steps, hits)}
        if not keep:
            continue
        steps = [s if s.id in keep else replace(s, status="skip", reason="deselected") for s in plan.steps]
        out.append(replace(plan, steps=steps))
    return out
