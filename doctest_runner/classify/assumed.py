"""Failures the guide's own words explain: a prerequisite it names (or plainly assumes), a block it runs only
on a condition about the reader's setup ("If you have the ACL package installed, ..."), or a step it gives
only in words. All are the reader's situation, not a broken command, so they go to the environment group
with the doc's sentence and line quoted (`prerequisite`, `prose-step`).

`refine()` runs after the output rules have named a doc-bug category: it only changes a verdict whose
evidence is something missing (a command, a daemon or cluster, a file) that a sentence of the guide accounts
for, and that no earlier step of the guide was meant to provide (then it is the doc's bug, or a cascade).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from doctest_runner.classify.evidence import LOCAL_SERVICE, Missing, command_names, missing, path_names
from doctest_runner.model import Condition, ExecResult, Plan, Prerequisite, Prose, Step, category_group

# Verdicts a sentence cannot explain: the command itself is wrong.
_KEEP = frozenset({"syntax", "placeholder", "permission", "interactive", "output-mismatch", "package-not-found"})
_INSTALLS = re.compile(r"\binstall\b|get\.[\w-]+\.(?:com|io|sh)|\|\s*(?:sudo\s+)?(?:ba)?sh\b")
_GENERIC_NOUN = re.compile(r"\b(?:archive|tarball|binary|binaries|release|file|package|bundle|key|image|script)s?\b",
                           re.IGNORECASE)
_GENERIC_FETCH = re.compile(r"^\W*(?:(?:first|then|next|now|to [^,.]{1,50}),\s*)?(?:download|fetch|get|obtain|grab)\b",
                            re.IGNORECASE)
_TOKEN = re.compile(r"`([^`]+)`|([\w.<>{}*$+-]+)")


@dataclass(frozen=True)
class GuideContext:
    """What the classifier needs to know about the guide around a step (from its Plan)."""

    prerequisites: tuple[Prerequisite, ...] = ()
    word_steps: tuple[Prose, ...] = ()
    steps: tuple[Step, ...] = ()  # the steps that run, in run order
    conditions: tuple[Condition, ...] = ()  # blocks the guide runs only "if you have X" (the doc's own path)

    @classmethod
    def from_plan(cls, plan: Plan) -> GuideContext:
        """The plan's prerequisites; its fetch/create sentences plus lint's prose steps (instructions with no
        command after them); the steps it runs; its blocks run only on a condition about the reader's setup."""
        run = [s for s in [*plan.setup, *plan.steps] if s.status == "run"]
        seen = {(w.path, w.line) for w in plan.word_steps}
        words = [*plan.word_steps, *(p for p in plan.prose if (p.path, p.line) not in seen)]
        return cls(tuple(plan.prerequisites), tuple(words), tuple(run), tuple(plan.conditions))

    def condition_of(self, step: Step) -> Condition | None:
        """The setup condition that introduces the block `step` comes from, if any."""
        if step.origin != "doc":  # a sidecar's command has no block of the doc
            return None
        return next((c for c in self.conditions if c.block_line == step.block_line), None)

    def before(self, step: Step) -> list[Step]:
        """The steps that run before `step`."""
        out: list[Step] = []
        for s in self.steps:
            if s is step or s.id == step.id:
                break
            out.append(s)
        return out


@dataclass(frozen=True)
class Refined:
    category: str
    explanation: str


def refine(category: str, step: Step, result: ExecResult, context: GuideContext | None) -> Refined | None:
    """`prerequisite` or `prose-step` when the guide's words explain this doc-bug verdict; None otherwise."""
    if context is None or category in _KEEP or category_group(category) != "doc" or step.kind == "file":
        return None
    if not (context.prerequisites or context.word_steps or context.conditions):
        return None
    gone = missing(step.command, result.output, result.failed_line_index)
    if not gone:
        return None
    return _conditional(gone, category, step, context) or _prerequisite(gone, step, context) \
        or _prose_step(gone, step, context)


def _quote(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _conditional(gone: Missing, category: str, step: Step, context: GuideContext) -> Refined | None:
    """The block runs only "if you have X installed" and what is missing is a command, file, service or
    package: the reader's setup is not the one the sentence names, the command is not wrong. Unless an earlier
    step installs the missing command (then the guide was meant to provide it), and not when a package is
    missing from the package sources (`package-not-found` is kept above: the name or the sources are wrong)."""
    cond = context.condition_of(step)
    if cond is None:
        return None
    names = [c.rsplit("/", 1)[-1] for c in gone.commands] + list(gone.paths) + list(gone.units) \
        + ["the service it connects to" if d == LOCAL_SERVICE else d for d in gone.daemons] + list(gone.packages)
    if not names:
        return None
    installed: set[str] = set()
    for s in context.before(step):
        if _INSTALLS.search(s.command):
            installed.update(command_names(s.command))
    if {n.lower() for n in gone.commands} & installed:
        return None
    what = names[0]
    return Refined(
        "prerequisite",
        f"{what} is not there, and the guide runs this only if {_quote(cond.clause, 120)} (line {cond.line}: "
        f"\"{_quote(cond.sentence)}\"): this setup is not that one; skip the step with a sidecar rule, or "
        "provide it with a sidecar `setup:`",
    )


def _prerequisite(gone: Missing, step: Step, context: GuideContext) -> Refined | None:
    names = {c.lower().rsplit("/", 1)[-1] for c in gone.commands} | {d.lower() for d in gone.daemons}
    names |= {u.lower().removesuffix(".service") for u in gone.units}
    if not names:
        return None
    installed: set[str] = set()  # what earlier steps install: then providing it was the guide's job
    for s in context.before(step):
        if _INSTALLS.search(s.command):
            installed.update(command_names(s.command))
    for pre in context.prerequisites:
        provides = set(pre.provides)
        hit = sorted(names & provides)
        if not hit or provides & installed:
            continue
        what = hit[0]
        gone_what = f"{pre.name} is not running here" if what in gone.daemons else f"{what} is not installed here"
        if pre.assumed:
            said = f"the guide assumes {pre.name} (line {pre.line}: {_quote(pre.sentence)})"
        else:
            said = f"the guide names {pre.name} as a prerequisite at line {pre.line}: \"{_quote(pre.sentence)}\""
        return Refined(
            "prerequisite",
            f"{gone_what}, and {said}: provide it with a sidecar `setup:` or an image that has it",
        )
    return None


def _wildcard(token: str) -> re.Pattern[str] | None:
    """A sentence's name as a pattern: `<VERSION>`, `{arch}`, `*`, `...` and `X.Y.Z` stand for anything."""
    token = token.strip(".,:;()\"'").lower()
    if len(token) < 2:
        return None
    parts = re.split(r"(<[^>]*>|\{[^}]*\}|\*|\.\.\.|…)", token)
    pattern = "".join(".+" if i % 2 else re.escape(p) for i, p in enumerate(parts))
    return re.compile(pattern)


def _names_in(sentence: str) -> list[re.Pattern[str]]:
    out = []
    for m in _TOKEN.finditer(sentence):
        pat = _wildcard(m.group(1) or m.group(2))
        if pat is not None:
            out.append(pat)
    return out


def _prose_step(gone: Missing, step: Step, context: GuideContext) -> Refined | None:
    wanted: dict[str, str] = {}  # name -> as printed
    for c in gone.commands:
        wanted[c.lower().rsplit("/", 1)[-1]] = c
    for p in gone.paths:
        for n in path_names(p):
            wanted.setdefault(n, p)
    wanted = {n: shown for n, shown in wanted.items() if len(n) >= 2}
    if not wanted:
        return None
    before = context.before(step)
    mentioned: set[str] = set()  # an earlier command was meant to provide it: not a prose step
    for s in before:
        if s.path == step.path or s.kind == "setup":
            mentioned.update(command_names(s.command))
    if set(wanted) & mentioned:
        return None
    block_starts = [s.line for s in before if s.path == step.path]
    for w in sorted(context.word_steps, key=lambda w: -w.line):
        if w.path != step.path or w.line >= step.line or step.heading[: len(w.heading)] != w.heading:
            continue
        pats = _names_in(w.text)
        named = next((shown for n, shown in wanted.items() if any(p.fullmatch(n) for p in pats)), None)
        lead_in = not any(w.line < line < step.line for line in block_starts)
        if named is None and lead_in and gone.paths and _GENERIC_FETCH.search(w.text) and _GENERIC_NOUN.search(w.text):
            named = gone.paths[0]
        if named is None:
            continue
        return Refined(
            "prose-step",
            f"{named} is not there: the guide asks for it only in words at line {w.line} (\"{_quote(w.text)}\") "
            "and gives no command; a sidecar `insert:` rule can supply one",
        )
    return None
