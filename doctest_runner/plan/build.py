"""ParsedDoc (+ sidecar) -> Plan: what runs, in which order, on which image.

Pure: no files are read here (the sidecar was validated when loaded), so lint,
`list`, the runner and the pytest plugin all see the same plan for a doc.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import replace

from doctest_runner.model import DoctestError, ParsedDoc, Plan, Platform, Step, StepOptions
from doctest_runner.plan.platform import (
    DEFAULT_IMAGE,
    DISTRO,
    EXACT,
    FAMILY,
    GENERIC,
    NONE,
    Target,
    best_match,
    describe_targets,
    platform_for_image,
    read_title,
    tool_target,
)
from doctest_runner.plan.scope import Scope, doc_scopes
from doctest_runner.plan.sidecar import Rule, Script, Sidecar
from doctest_runner.plan.sitevalues import fill as fill_site_values
from doctest_runner.plan.sitevalues import site_values
from doctest_runner.plan.sitevalues import skip_reason as site_value_reason
from doctest_runner.plan.yamlnodes import raise_all
from doctest_runner.shell import command_words, lex

_SHELL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def plan_doc(parsed: ParsedDoc, sidecar: Sidecar | None = None, *, image: str | None = None,
             platform: Platform | None = None) -> Plan:
    """Apply sidecar rules and vars, then keep the steps of the image's platform.

    `image` overrides the sidecar's image (the CLI's --image); `platform` is what that image is
    (default: its recipe's declaration, else what its name says). Raises DoctestError
    (all problems at once) when a sidecar rule matches no step: a rule that silently
    stops applying after the doc changed would hide exactly the drift we look for.
    """
    image = image or (sidecar.image if sidecar else None) or DEFAULT_IMAGE
    if platform is None:
        platform = platform_for_image(image)
    distro = platform.distro
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

    _choose_platform(parsed, steps, platform, image, forced, notes)
    _skip_site_values(steps, forced)

    return Plan(
        path=parsed.path,
        steps=steps,
        image=image,
        distro=distro,
        platform=platform,
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
    """Replace `<NAME>` placeholders (text a reader is meant to retype) with the var's value;
    also site-generator values the site would have rendered (`{{< NAME >}}`, `{{ .Site.Params.NAME }}`,
    `{{ page.NAME }}`: plan/sitevalues.py)."""
    if "{{" in step.command:
        step.command = fill_site_values(step.command, values)
    for name, value in values.items():
        token = f"<{name}>"
        if token in step.command:
            step.command = step.command.replace(token, value)
        if step.file_path and token in step.file_path:
            step.file_path = step.file_path.replace(token, value)


def _skip_site_values(steps: list[Step], forced: set[int]) -> None:
    """A doc command that still holds a site-generator value (no sidecar var gave it) cannot work as
    written, though the rendered page is right: skip it at plan time and name the var that fills it.
    File content is left alone (a config file may itself be a template); a sidecar rule deciding
    `skip` explicitly wins."""
    for step in steps:
        if step.status != "run" or step.origin != "doc" or step.kind == "file" or id(step) in forced:
            continue
        found = site_values(step.command)
        if found:
            step.status, step.reason = "skip", site_value_reason(found)


# --- platforms -----------------------------------------------------------------------------------------
#
# A guide for many platforms is read by one reader on one machine: the plan keeps the image's path
# and skips the rest with a reason. In order: OS tab groups (one tab of a group), platform scopes
# (headings, labels, admonitions: another platform's section is skipped), then, outside any
# distribution's section, steps whose command is another platform's package manager or admin tool,
# and steps typed at a Windows prompt. `platform: any` (annotation or sidecar) exempts a step;
# `platform: <name>` pins it to that platform instead of what the doc says.

# A step that tests the platform itself is correct everywhere: `[ $(uname -m) = aarch64 ] && ...`,
# `if command -v dnf; then ...`, `case "$ID" in ...`.
_COMPOUND_RE = re.compile(r"^\s*(?:if|elif|case)\b", re.MULTILINE)
_PLATFORM_TEST_RE = re.compile(r"uname|os-release|OSTYPE|lsb_release|\$\{?(?:ID|VERSION_ID|ARCH|arch|OS|os)\b"
                               r"|architecture")


def _guarded(command: str) -> bool:
    """Whether the step checks the platform or a tool before using it (a guard, or an if/case)."""
    if _COMPOUND_RE.search(command):
        return True
    for cmd in lex(command).commands:
        argv = [w.value for w in cmd.argv]
        if not argv:
            continue
        if argv[0] in ("[", "[[", "test") and _PLATFORM_TEST_RE.search(command[cmd.start:cmd.argv[-1].end]):
            return True
        if argv[0] == "command" and len(argv) > 1 and argv[1] in ("-v", "-V") or argv[0] in ("which", "type", "hash"):
            return True
    return False


def _reason_for(targets: tuple[Target, ...], image: str) -> str:
    return f"for {describe_targets(targets)}; the image is {image}"


def _innermost(spans: list[Scope], line: int) -> Scope | None:
    covering = [s for s in spans if s.covers(line)]
    return max(covering, key=lambda s: (s.line, -s.end_line)) if covering else None


def _choose_platform(parsed: ParsedDoc, steps: list[Step], platform: Platform, image: str, forced: set[int],
                     notes: list[str]) -> None:
    last = max([s.end_line for s in steps if s.origin == "doc"] + [line for line, _ in parsed.headings] + [0])
    lines = parsed.source.split("\n") if parsed.source is not None else [""] * last
    scopes, tab_spans = doc_scopes(lines, parsed.headings)
    block_tab = {b.line: b.tab for b in parsed.blocks if b.tab}

    def tab_of(step: Step) -> tuple[object, str] | None:
        """(tab set, tab title) of a step: from the doc's tab markup, else the parser's / a sidecar's tab."""
        span = _innermost(tab_spans, step.line) if step.origin == "doc" else None
        if span is not None:
            return span.group, span.title
        title = step.alternative or (block_tab.get(step.block_line) if step.origin == "doc" else None)
        return ("tab", title) if title else None

    pinned = {id(s) for s in steps if s.options.platform}
    open_steps = [s for s in steps if s.status == "run" and id(s) not in forced]
    for step in open_steps:
        if step.options.platform and step.options.platform.strip().lower() != "any":
            targets = read_title(step.options.platform).targets
            if best_match(targets, platform)[0] == NONE:
                step.status, step.reason = "skip", _reason_for(targets, image) + f" (platform: {step.options.platform})"

    in_os_tab = _pick_alternatives(steps, tab_of, platform, image, forced | pinned, notes)
    levels = {id(sc): best_match(sc.targets, platform)[0] for sc in scopes}
    doc_best = max(levels.values(), default=NONE)
    for step in steps:
        if step.status != "run" or id(step) in forced or id(step) in pinned:
            continue
        covering = [sc for sc in scopes if sc.covers(step.line)]  # a sidecar's inserted step: its doc line
        excluded = [sc for sc in covering if levels[id(sc)] == NONE]
        inner = max(covering, key=lambda sc: (sc.line, -sc.end_line), default=None)
        if excluded:
            sc = max(excluded, key=lambda sc: (sc.line, -sc.end_line))
            step.status, step.reason = "skip", _reason_for(sc.targets, image)
        elif inner is not None and id(step) not in in_os_tab and (
                levels[id(inner)] == DISTRO and doc_best == EXACT
                or levels[id(inner)] == FAMILY and doc_best >= DISTRO):
            # another release or a sibling distribution, while the guide has a section for this image
            step.status, step.reason = "skip", _reason_for(inner.targets, image)
        elif step.platform and best_match(read_title(step.platform).targets, platform)[0] == NONE:
            step.status = "skip"
            step.reason = _reason_for(read_title(step.platform).targets, image) + " (its prompt is that platform's)"
        elif id(step) not in in_os_tab and (inner is None or levels[id(inner)] == GENERIC):
            tool = _foreign_tool(step.command, platform)
            if tool is not None:
                step.status, step.reason = "skip", f"uses {tool}; the image is {image}"


def _foreign_tool(command: str, platform: Platform) -> str | None:
    """`dnf (Fedora/RHEL)` when the step runs another platform's tool and nothing of this one's.

    A step that also runs the image's own tools (a "pick your distro" block) or tests the platform
    (`[ $(uname -m) = aarch64 ] && ...`) is left to run: the first is not ours to cut apart, the
    second is correct as written.
    """
    if _guarded(command):
        return None
    foreign: str | None = None
    for cmd in lex(command).commands:
        words = command_words(cmd)
        found = tool_target(words)
        if found is None:
            continue
        target, label = found
        if best_match((target,), platform)[0] != NONE:
            return None  # one of the image's own tools: a block for several platforms at once
        if foreign is None:
            foreign = f"{words[0].rsplit('/', 1)[-1]} ({label})"
    return foreign


TabOf = Callable[[Step], "tuple[object, str] | None"]


def _tab_groups(steps: list[Step], tab_of: TabOf) -> list[list[Step]]:
    """Consecutive steps from one tab set form a group; a repeated title or a new heading starts another."""
    groups: list[list[Step]] = []
    current: list[Step] = []
    titles: list[str] = []
    key: object = None
    for step in steps:
        found = tab_of(step)
        if found is None:
            if current:
                groups.append(current)
            current, titles = [], []
            continue
        title = _norm(found[1])
        new_group = current and (found[0] != key or
            step.heading != current[-1].heading or (title in titles and title != titles[-1]))
        key = found[0]
        if new_group:
            groups.append(current)
            current, titles = [], []
        current.append(step)
        if not titles or titles[-1] != title:
            titles.append(title)
    if current:
        groups.append(current)
    return groups


def _pick_alternatives(steps: list[Step], tab_of: TabOf, platform: Platform, image: str,
                       exempt: set[int], notes: list[str]) -> set[int]:
    """One tab of each group of OS tabs: the best fit for the image; if none fits, the first tab of
    the image's OS (with a note). Returns id() of the steps in an OS tab."""
    in_tab: set[int] = set()

    def title_of(step: Step) -> str | None:
        found = tab_of(step)
        return found[1] if found else None

    for group in _tab_groups(steps, tab_of):
        # only tabs that name a platform are alternatives ("Control-plane nodes only" is not)
        reading = {id(s): read_title(title_of(s) or "").targets for s in group}
        os_steps = [s for s in group if reading[id(s)]]
        in_tab |= {id(s) for s in os_steps}
        titles: list[str] = []
        level: dict[str, int] = {}
        for s in os_steps:
            title = title_of(s) or ""
            if title not in titles:
                titles.append(title)
                level[title] = best_match(reading[id(s)], platform)[0]
        if not titles:
            continue
        best = max(level.values())
        keep = {t for t in titles if level[t] == best} if best != NONE else set()
        if best != NONE and best not in (EXACT, GENERIC):
            kept = next(t for t in titles if t in keep)
            keep = {kept}
            first = os_steps[0]
            notes.append(f"{first.path}:{first.line}: no tab for {platform.distro} among "
                         f"{', '.join(repr(t) for t in titles)}; keeping {kept!r}")
        elif best == NONE:
            same_os = [t for t in titles if _same_os(read_title(t).targets, platform)]
            if same_os:
                keep = {same_os[0]}
                first = os_steps[0]
                notes.append(f"{first.path}:{first.line}: no tab for {platform.distro} among "
                             f"{', '.join(repr(t) for t in titles)}; keeping {same_os[0]!r}")
        for step in os_steps:
            tab = title_of(step)
            if tab in keep or id(step) in exempt or step.status == "skip":
                continue
            step.status = "skip"
            step.reason = f"alternative for {tab}; image is {image}"
    return in_tab


def _same_os(targets: tuple[Target, ...], platform: Platform) -> bool:
    """A tab for the image's OS (another distribution of it) on the image's architecture."""
    arch_ok = all(t.arch == platform.arch for t in targets if t.arch)
    return arch_ok and any(t.os == platform.os for t in targets if not t.arch)
