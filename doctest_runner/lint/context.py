"""What every lint rule sees: the plan, its shell steps lexed once, and a way to make findings.

Rules get offsets into a step's command; `ShellStep.line_at` turns one into the exact doc line
through `Step.line_map`, so each rule reports where the reader sees the problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from doctest_runner.model import Finding, Plan, Step
from doctest_runner.parse import OUTPUT_WHY
from doctest_runner.shell import Script, SyntaxProblem, lex

# Step kinds whose `command` is shell to run ("prose" steps are commands a sidecar supplied).
SHELL_KINDS = frozenset({"prompted", "bare", "setup", "cleanup", "prose"})

Severity = Literal["error", "warning", "info"]


class LintBudgetExceeded(Exception):
    """A rule found the doc's time budget (`LintContext.deadline`) spent; the engine stops that doc."""


@dataclass
class ShellStep:
    step: Step
    script: Script
    role: Literal["setup", "doc", "cleanup"]
    syntax: SyntaxProblem | None = None  # filled by the syntax rule before the others run

    def line_at(self, offset: int) -> int:
        """The doc line of a character offset in the step's command."""
        return self.step.source_line(self.script.line_index(offset))

    @property
    def as_root(self) -> bool:
        """The step's shell is root already (`# ` prompt or `user: root`), so sudo is moot."""
        prompt = (self.step.prompt or "").strip()
        return self.step.options.user == "root" or prompt.endswith("#")


@dataclass
class LintContext:
    plan: Plan
    shell: list[ShellStep] = field(default_factory=list)  # setup, doc steps, cleanup: run order
    files: list[Step] = field(default_factory=list)  # kind == "file": content, not shell
    deadline: float | None = None  # time.monotonic() by which the doc's lint must end (engine's budget)

    @classmethod
    def build(cls, plan: Plan) -> LintContext:
        ctx = cls(plan)
        roles: tuple[tuple[Literal["setup", "doc", "cleanup"], list[Step]], ...] = (
            ("setup", plan.setup), ("doc", plan.steps), ("cleanup", plan.cleanup))
        for role, steps in roles:
            for step in steps:
                if step.status == "skip" and (step.why or "").startswith(OUTPUT_WHY):
                    continue  # a shell fence holding output: not shell (rule output-in-shell-fence)
                if step.kind == "file":
                    ctx.files.append(step)
                elif step.kind in SHELL_KINDS:
                    ctx.shell.append(ShellStep(step, lex(step.command), role))
        return ctx

    @property
    def doc_steps(self) -> list[ShellStep]:
        return [s for s in self.shell if s.role == "doc"]

    def finding(
        self,
        step: ShellStep | Step,
        offset: int | None,
        rule: str,
        severity: Severity,
        message: str,
        hint: str = "",
    ) -> Finding:
        """A finding at the doc line of `offset` in `step` (its first line when offset is None)."""
        if isinstance(step, ShellStep):
            line = step.line_at(offset) if offset is not None else step.step.line
            step = step.step
        else:
            line = step.line
        return self.finding_at(step, line, rule, severity, message, hint)

    def finding_at(
        self, step: Step, line: int, rule: str, severity: Severity, message: str, hint: str = ""
    ) -> Finding:
        return Finding(
            path=step.path or self.plan.path,
            line=line,
            rule=rule,
            severity=severity,
            message=message,
            hint=hint,
            step_id=step.id,
        )
