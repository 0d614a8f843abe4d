"""ParsedDoc (+ sidecar) -> Plan: what runs, in which order, on which image.

Pure: no files are read here (the sidecar was validated when loaded), so lint,
`list`, the runner and the pytest plugin all see the same plan for a doc.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace

from doctest_runner.model import DoctestError, ParsedDoc, Plan, Step, StepOptions
from doctest_runner.plan.distro import DEFAULT_IMAGE, distro_of, names_os, title_matches
from doctest_runner.plan.sidecar import Rule, Script, Sidecar
from doctest_runner.plan.yamlnodes import raise_all

_SHELL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def plan_doc(parsed: ParsedDoc, sidecar: Sidecar | None = None, *, image: str | None = None) -> Plan:
    """Apply sidecar rules and vars, then pick distro alternatives.

    `image` overrides the sidecar's image (the CLI's --image). Raises DoctestError
    (all problems at once) when a sidecar rule matches no step: a rule that silently
    stops applying after the doc changed would hide exactly the drift we look for.
    """
    image = image or (sidecar.image if sidecar else None) or DEFAULT_IMAGE
    distro = distro_of(image)
    steps = [replace(step, options=replace(step.options)) for step in parsed.steps]
    forced: set[int] = set()  # id() of steps whose skip a sidecar rule decided explicitly
    notes: list[str] = []

    if sidecar is not None:
        steps = _insert_steps(parsed, steps, sidecar)
        _apply_rules(parsed, steps, sidecar, forced)

    for step in steps:
        if id(step) not in forced and step.options.skip and step.status == "run":
            step.status = "skip"
            step.reason = step.options.reason or "skipped by annotation"

    setup: list[Step] = []
    cleanup: list[Step] = []
    if sidecar is not None:
        exports = _var_exports(sidecar)
        if exports is not None:
            setup.append(exports)
        setup += [_script_step(sidecar, script, "setup") for script in sidecar.setup]
    cleanup = [step for step in steps if step.kind == "cleanup"]  # a doc's hidden cleanup runs at the end
    steps = [step for step in steps if step.kind != "cleanup"]
    if sidecar is not None:
        cleanup += [_script_step(sidecar, script, "cleanup") for script in sidecar.cleanup]
        for step in setup + steps + cleanup:
            _substitute(step, sidecar.vars)

    _pick_alternatives(steps, image, distro, forced, notes)

    return Plan(
        path=parsed.path,
        steps=steps,
        image=image,
        distro=distro,
        sidecar=sidecar.display if sidecar else None,
        vars=dict(sidecar.vars) if sidecar else {},
        fixtures=[(str(f.src), f.dest) for f in sidecar.fixtures] if sidecar else [],
        checks=list(sidecar.checks) if sidecar else [],
        check_modules=[str(p) for p in sidecar.check_modules] if sidecar else [],
        setup=setup,
        cleanup=cleanup,
        prose=list(parsed.prose),
        errors=list(parsed.errors),
        notes=notes,
    )


# --- selectors ---------------------------------------------------------------------------------

def _norm(title: str) -> str:
    return " ".join(title.split()).casefold()


def _heading_matches(want: tuple[str, ...], have: tuple[str, ...]) -> bool:
    """`A > B` matches a step whose heading path contains A directly followed by B (at any depth)."""
    want_n = [_norm(t) for t in want]
    have_n = [_norm(t) for t in have]
    n = len(want_n)
    return any(have_n[i:i + n] == want_n for i in range(len(have_n) - n + 1))


def _line_matches(parsed: ParsedDoc, steps: list[Step], n: int) -> list[Step]:
    """The step(s) at doc line `n`: the command covering it, else every step of the block covering it."""
    doc_steps = [s for s in steps if s.origin == "doc"]
    direct = [s for s in doc_steps if s.line <= n <= s.end_line]
    if direct:
        return direct
    for block in parsed.blocks:
        if block.line <= n <= block.end_line:
            return [s for s in doc_steps if s.block_line == block.line]
    return [s for s in doc_steps if s.block_line == n]


def select(parsed: ParsedDoc, steps: list[Step], rule: Rule) -> list[Step]:
    """The steps a rule's selector picks (all given selector keys must hold)."""
    chosen = _line_matches(parsed, steps, rule.at_line) if rule.at_line is not None else list(steps)
    if rule.name is not None:
        chosen = [s for s in chosen if s.options.name == rule.name]
    if rule.heading is not None:
        chosen = [s for s in chosen if _heading_matches(rule.heading, s.heading)]
    if rule.command is not None:
        chosen = [s for s in chosen if rule.command in s.command]
    if rule.command_re is not None:
        chosen = [s for s in chosen if rule.command_re.search(s.command)]
    if rule.alternative is not None:
        chosen = [s for s in chosen if s.alternative is not None and _norm(s.alternative) == _norm(rule.alternative)]
    return chosen


def _apply_rules(parsed: ParsedDoc, steps: list[Step], sidecar: Sidecar, forced: set[int]) -> None:
    errors: list[DoctestError] = []
    for rule in sidecar.rules:
        if rule.insert is not None:
            continue
        chosen = select(parsed, steps, rule)
        if not chosen:
            errors.append(DoctestError(f"steps rule ({rule.describe()}) matches no step in {parsed.path}",
                                       sidecar.display, rule.line))
            continue
        for step in chosen:
            _set_options(step, rule, sidecar)
            if "skip" in rule.options:
                forced.add(id(step))
    raise_all(errors)


def _set_options(step: Step, rule: Rule, sidecar: Sidecar) -> None:
    step.options = replace(step.options, **rule.options)
    if "skip" in rule.options:
        if step.options.skip:
            step.status = "skip"
            if "reason" not in rule.options:
                step.options.reason = f"skipped by {sidecar.display}:{rule.line}"
            step.reason = step.options.reason
        else:
            step.status, step.reason = "run", None
    elif "reason" in rule.options and step.status == "skip":
        step.reason = step.options.reason


# --- inserted steps -----------------------------------------------------------------------------

def _heading_at(parsed: ParsedDoc, line: int, steps: list[Step]) -> tuple[str, ...]:
    best: tuple[str, ...] | None = None
    for hline, path in parsed.headings:
        if hline <= line:
            best = path
    if best is not None:
        return best
    before = [s for s in steps if s.line <= line]
    return before[-1].heading if before else ()


def _insert_steps(parsed: ParsedDoc, steps: list[Step], sidecar: Sidecar) -> list[Step]:
    """Add sidecar commands for prose-only instructions, placed by the prose line."""
    inserts: dict[int, list[Step]] = {}
    used = {s.id for s in steps}
    for rule in sidecar.rules:
        if rule.insert is None:
            continue
        n = rule.at_line
        assert n is not None and rule.command is not None
        if rule.insert == "before":
            index = next((i for i, s in enumerate(steps) if s.end_line >= n), len(steps))
        else:
            index = max((i + 1 for i, s in enumerate(steps) if s.line <= n), default=0)
        sid, k = f"{parsed.path}:{n}", 1
        while sid in used:
            k += 1
            sid = f"{parsed.path}:{n}#{k}"
        used.add(sid)
        options = StepOptions(**rule.options)
        skipped = options.skip
        step = Step(
            id=sid,
            path=parsed.path,
            line=n,
            end_line=n,
            heading=_heading_at(parsed, n, steps),
            command=rule.command,
            kind="bare",
            line_map=(n,) * (rule.command.count("\n") + 1),
            lang="bash",
            alternative=rule.alternative,
            origin="sidecar",
            options=options,
            status="skip" if skipped else "run",
            reason=(options.reason or f"skipped by {sidecar.display}:{rule.line}") if skipped else None,
        )
        inserts.setdefault(index, []).append(step)
    if not inserts:
        return steps
    out: list[Step] = []
    for i in range(len(steps) + 1):
        out += inserts.get(i, [])
        if i < len(steps):
            out.append(steps[i])
    return out


# --- vars, setup and cleanup ---------------------------------------------------------------------

def _var_exports(sidecar: Sidecar) -> Step | None:
    """`export NAME=value` for every var that is a shell name, run before the guide.

    Exporting (rather than rewriting `$NAME` in the text) keeps the doc's own
    assignments authoritative: a doc that sets VERSION itself simply overrides it.
    """
    names = [n for n in sidecar.vars if _SHELL_NAME.match(n)]
    if not names:
        return None
    lines = [sidecar.var_lines[n] for n in names]
    command = "\n".join(f"export {n}={shlex.quote(sidecar.vars[n])}" for n in names)
    return Step(
        id=f"{sidecar.display}:{lines[0]}",
        path=sidecar.display,
        line=lines[0],
        end_line=lines[-1],
        heading=(),
        command=command,
        kind="setup",
        line_map=tuple(lines),
        lang="bash",
        origin="sidecar",
    )


def _script_step(sidecar: Sidecar, script: Script, kind: str) -> Step:
    return Step(
        id=f"{sidecar.display}:{script.line}",
        path=sidecar.display,
        line=script.line,
        end_line=script.line_map[-1],
        heading=(),
        command=script.text,
        kind=kind,  # type: ignore[arg-type]
        line_map=script.line_map,
        lang="bash",
        origin="sidecar",
    )


def _substitute(step: Step, values: dict[str, str]) -> None:
    """Replace `<NAME>` placeholders (text a reader is meant to retype) with the var's value."""
    for name, value in values.items():
        token = f"<{name}>"
        if token in step.command:
            step.command = step.command.replace(token, value)
        if step.file_path and token in step.file_path:
            step.file_path = step.file_path.replace(token, value)


# --- distro alternatives -------------------------------------------------------------------------

def _tab_groups(steps: list[Step]) -> list[list[Step]]:
    """Consecutive steps from tabs form a group; a repeated title or a new heading starts another."""
    groups: list[list[Step]] = []
    current: list[Step] = []
    titles: list[str] = []
    for step in steps:
        if step.alternative is None:
            if current:
                groups.append(current)
            current, titles = [], []
            continue
        title = _norm(step.alternative)
        new_group = current and (
            step.heading != current[-1].heading or (title in titles and title != titles[-1]))
        if new_group:
            groups.append(current)
            current, titles = [], []
        current.append(step)
        if not titles or titles[-1] != title:
            titles.append(title)
    if current:
        groups.append(current)
    return groups


def _pick_alternatives(steps: list[Step], image: str, distro: str, forced: set[int], notes: list[str]) -> None:
    for group in _tab_groups(steps):
        # only tabs that name an operating system are alternatives ("Control-plane nodes only" is not)
        os_steps = [s for s in group if names_os(s.alternative or "")]
        titles: list[str] = []
        for s in os_steps:
            if s.alternative not in titles:
                titles.append(s.alternative or "")
        keep = {t for t in titles if title_matches(t, distro)}
        if not keep and titles:
            keep = {titles[0]}
            first = os_steps[0]
            notes.append(f"{first.path}:{first.line}: no tab for {distro} among "
                         f"{', '.join(repr(t) for t in titles)}; keeping {titles[0]!r}")
        for step in os_steps:
            if step.alternative in keep or id(step) in forced or step.status == "skip":
                continue
            step.status = "skip"
            step.reason = f"alternative for {step.alternative}; image is {image}"
