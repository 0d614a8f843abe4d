"""Which guides and steps a run selects: by path, heading, step name, or a pytest-style `-k` expression.

A guide is a sequence: a later step depends on the earlier ones. So selecting a step
means running the guide up to and including it; steps after the last selected step
are left out ("deselected"), and a guide with no selected step is not run at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from _pytest.mark.expression import Expression

from doctest_runner.model import DoctestError, Plan, Step


@dataclass(frozen=True)
class Selection:
    keyword: str | None = None  # -k expression, as pytest's -k
    heading: str | None = None  # substring of the heading path ("A > B")
    name: str | None = None  # step name from an annotation or sidecar

    @property
    def empty(self) -> bool:
        return not (self.keyword or self.heading or self.name)


def _keywords(plan: Plan, step: Step) -> list[str]:
    words = [plan.path, *plan.path.split("/"), step.id, f"line{step.line}", *step.heading]
    if step.options.name:
        words.append(step.options.name)
    words.append(step.command.splitlines()[0] if step.command else "")
    return [w.lower() for w in words if w]


def step_matches(plan: Plan, step: Step, sel: Selection, expr: Expression | None = None) -> bool:
    if sel.heading and sel.heading.lower() not in " > ".join(step.heading).lower():
        return False
    if sel.name and step.options.name != sel.name:
        return False
    if sel.keyword:
        expr = expr or compile_keyword(sel.keyword)
        words = _keywords(plan, step)
        return expr.evaluate(lambda ident, **_: any(ident.lower() in w for w in words))
    return True


def compile_keyword(keyword: str) -> Expression:
    try:
        return Expression.compile(keyword)
    except SyntaxError as exc:  # a malformed expression: pytest raises SyntaxError
        raise DoctestError(f"bad -k expression {keyword!r}: {exc}") from None


def apply_selection(plans: list[Plan], sel: Selection) -> list[Plan]:
    """Plans restricted to the selection (steps after the last selected one: skipped as deselected)."""
    if sel.empty:
        return plans
    expr = compile_keyword(sel.keyword) if sel.keyword else None
    out = []
    for plan in plans:
        hits = [i for i, s in enumerate(plan.steps) if step_matches(plan, s, sel, expr)]
        if not hits:
            continue
        last = hits[-1]
        steps = [
            s if i <= last else replace(s, status="skip", reason="deselected")
            for i, s in enumerate(plan.steps)
        ]
        out.append(replace(plan, steps=steps))
    return out
