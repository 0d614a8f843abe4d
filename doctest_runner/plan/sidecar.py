"""Sidecar specs (`*.doctest.yaml`): annotations for docs the team cannot edit.

Upstream guides (Kata's) cannot carry `<!-- doctest: ... -->` comments, so the
same settings live next to them in YAML, selecting steps by line, name, heading
or command text. Everything is validated when the file is loaded, with the
sidecar's own file:line, so a typo never silently turns into "rule ignored".
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict

from doctest_runner import trust
from doctest_runner.model import Check, DoctestError
from doctest_runner.plan.pattern import CommandPattern
from doctest_runner.plan.platform import read_title
from doctest_runner.plan.yamlnodes import YNode, compose, excerpt, flatten, raise_all, unknown_key

SIDECAR_SUFFIX = ".doctest.yaml"

SIDECAR_KEYS = ("doc", "image", "vars", "fixtures", "setup", "cleanup", "checks", "check_modules", "steps")

# annotation key -> StepOptions field
OPTION_KEYS = {
    "skip": "skip",
    "reason": "reason",
    "timeout": "timeout",
    "expect-exit": "expect_exit",
    "user": "user",
    "requires": "requires",
    "name": "name",
    "reboot": "reboot",
    "output": "output",
    "pty": "pty",
    "platform": "platform",
}
SELECTOR_KEYS = ("line", "name", "heading", "command", "command_re", "alternative")
OutputMode = Literal["check", "warn", "ignore"]
OUTPUT_MODES: tuple[OutputMode, ...] = ("check", "warn", "ignore")


class OptionValues(TypedDict, total=False):
    """The StepOptions fields a rule sets, only those it names, typed as StepOptions types them (so
    `replace(step.options, **rule.options)` is checked field by field)."""

    skip: bool
    reason: str
    timeout: int
    expect_exit: int
    user: str
    requires: tuple[str, ...]
    name: str
    reboot: bool
    output: OutputMode
    pty: bool
    platform: str

# check kind -> allowed option keys and their defaults (None: only when given)
CHECK_KINDS: dict[str, dict[str, object]] = {
    "package": {"installed": True},
    "service": {"running": True, "enabled": None},
    "file": {"exists": True, "contains": None, "mode": None},
    "port": {"listening": True},
    "command": {"exit": 0, "stdout_contains": None, "user": None},
}

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smh]?)\s*$")


@dataclass
class Script:
    """Shell text from a sidecar's `setup:`/`cleanup:`, with the sidecar line of each of its lines."""

    text: str
    line: int
    line_map: tuple[int, ...]


@dataclass
class Fixture:
    src: Path  # local file or folder (resolved against the sidecar's folder)
    dest: str  # absolute path in the guest
    line: int


@dataclass
class Rule:
    """One entry of `steps:`: which steps (selector) and what to set on them (options).

    With `insert:` it instead adds a sidecar-supplied command at a prose line.
    """

    line: int  # where the rule starts in the sidecar
    at_line: int | None = None
    name: str | None = None  # selector: step named by an annotation (or an earlier rule)
    heading: tuple[str, ...] | None = None
    command: str | None = None  # selector: substring (for insert rules: the command to insert)
    command_re: CommandPattern | None = None  # bounded-time search (plan/pattern.py)
    alternative: str | None = None
    options: OptionValues = field(default_factory=OptionValues)  # the StepOptions fields the rule sets
    insert: Literal["before", "after"] | None = None

    def describe(self) -> str:
        """The selector as the author wrote it, for 'matches no step' errors."""
        parts = []
        if self.at_line is not None:
            parts.append(f"line: {self.at_line}")
        if self.name is not None:
            parts.append(f"name: {excerpt(self.name)}")
        if self.heading is not None:
            parts.append(f"heading: {excerpt(' > '.join(self.heading))}")
        if self.command is not None and self.insert is None:
            parts.append(f"command: {excerpt(self.command)}")
        if self.command_re is not None:
            parts.append(f"command_re: {excerpt(self.command_re.pattern)}")
        if self.alternative is not None:
            parts.append(f"alternative: {excerpt(self.alternative)}")
        return ", ".join(parts)


@dataclass
class Sidecar:
    """A loaded, validated sidecar; paths inside are already resolved against its folder."""

    path: Path
    display: str
    doc: str | None = None  # as written; resolved by discovery (set source or sidecar folder)
    doc_line: int = 0
    image: str | None = None
    vars: dict[str, str] = field(default_factory=dict)
    var_lines: dict[str, int] = field(default_factory=dict)
    fixtures: list[Fixture] = field(default_factory=list)
    setup: list[Script] = field(default_factory=list)
    cleanup: list[Script] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    check_modules: list[Path] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)


def load_sidecar(path: str | os.PathLike[str], display: str | None = None, *, root: Path | None = None) -> Sidecar:
    """Read and validate a sidecar; every problem found is raised together, each with file:line.

    `root` is the docs tree its fixtures and check modules must stay in (default: the sidecar's folder)."""
    path = Path(path)
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DoctestError("no such sidecar file", shown) from None
    except IsADirectoryError:
        raise DoctestError("sidecar is a directory, not a file", shown) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DoctestError("sidecar is not UTF-8 text", shown, line) from None
    except OSError as exc:
        raise DoctestError(f"cannot read sidecar: {exc.strerror}", shown) from None
    return parse_sidecar(text, path, shown, tree_root=root)


def parse_sidecar(text: str, path: Path, display: str | None = None, *, tree_root: Path | None = None) -> Sidecar:
    """Validate sidecar YAML text (`path` locates fixtures and check modules, which must stay in `tree_root`)."""
    shown = display or str(path)
    sidecar = Sidecar(path=path, display=shown)
    root = compose(text, shown)
    if root is None:
        return sidecar  # an empty sidecar is allowed: the doc runs as written
    base = path.parent
    tree = tree_root if tree_root is not None else base
    errors: list[DoctestError] = []
    try:
        entries = root.items("a sidecar")
    except DoctestError as exc:
        raise exc from None
    for key, key_line, value in entries:
        try:
            if key == "doc":
                sidecar.doc = value.text("doc")
                sidecar.doc_line = key_line
            elif key == "image":
                sidecar.image = value.text("image")
                problem = trust.image_name_problem(sidecar.image)
                if problem:
                    raise value.error(problem)
            elif key == "vars":
                _load_vars(sidecar, value)
            elif key == "fixtures":
                for item in value.seq("fixtures"):
                    try:
                        sidecar.fixtures.append(_load_fixture(item, base, tree))
                    except DoctestError as exc:
                        errors.extend(flatten(exc))
            elif key in ("setup", "cleanup"):
                scripts = [_load_script(item, key) for item in (value.seq(key) if value.is_list() else [value])]
                setattr(sidecar, key, scripts)
            elif key == "checks":
                for item in value.seq("checks"):
                    try:
                        sidecar.checks.append(_load_check(item))
                    except DoctestError as exc:
                        errors.extend(flatten(exc))
            elif key == "check_modules":
                for item in value.seq(key):
                    try:
                        sidecar.check_modules.append(_existing(item, base, tree, "check module"))
                    except DoctestError as exc:
                        errors.append(exc)
            elif key == "steps":
                for item in value.seq("steps"):
                    try:
                        sidecar.rules.append(_load_rule(item))
                    except DoctestError as exc:
                        errors.extend(flatten(exc))
            else:
                errors.append(unknown_key(key, key_line, shown, "sidecar", SIDECAR_KEYS))
        except DoctestError as exc:
            errors.extend(flatten(exc))
    raise_all(errors)
    return sidecar


def _load_vars(sidecar: Sidecar, node: YNode) -> None:
    for name, line, value in node.items("vars"):
        if not _VAR_NAME.match(name):
            raise DoctestError(f"var name {excerpt(name)} is not a NAME (letters, digits, _ and -)", node.path, line)
        if not value.is_scalar() or value.value() is None:
            raise value.error(f"var {name} must be a string or number, not a {value.kind}")
        # the text as written: `VERSION: 3.10` must stay "3.10", not the float 3.1
        sidecar.vars[name] = str(value.node.value)
        sidecar.var_lines[name] = line


def _load_fixture(node: YNode, base: Path, root: Path) -> Fixture:
    src = dest = None
    errors: list[DoctestError] = []
    for key, line, value in node.items("a fixture"):
        try:
            if key == "src":
                src = _existing(value, base, root, "fixture")
                if src.is_dir() and trust.escaping_links(src, root):
                    raise value.error(f"fixture {value.text('fixture')[:200]!r} holds a symlink that leaves the "
                                      f"docs tree or links a folder (or more than 10000 files)")
            elif key == "dest":
                dest = value.text("dest")
                if not dest.startswith("/"):
                    raise value.error(f"fixture dest must be an absolute guest path, not {excerpt(dest)}")
            else:
                raise unknown_key(key, line, node.path, "a fixture", ("src", "dest"))
        except DoctestError as exc:
            errors.append(exc)
    raise_all(errors)
    if src is None or dest is None:
        raise node.error("a fixture needs both src: (relative to the sidecar) and dest: (guest path)")
    return Fixture(src=src, dest=dest, line=node.line)


def _existing(node: YNode, base: Path, root: Path, what: str) -> Path:
    """A file the sidecar names, inside its docs tree: refused the same way whether an outside path exists."""
    rel = node.text(what)
    target = trust.confine(root, rel, f"{what} {rel[:200]!r}", (node.path, node.line), base=base)
    if not target.exists():
        raise node.error(f"{what} {rel!r} not found (looked in {base})")
    return target


def _load_script(node: YNode, what: str) -> Script:
    text = node.text(what).rstrip("\n")
    first = node.content_line()
    lines = text.split("\n")
    return Script(text=text, line=first, line_map=tuple(range(first, first + len(lines))))


def _load_check(node: YNode) -> Check:
    entries = node.items("a check")
    kinds = [(key, line, value) for key, line, value in entries if key in CHECK_KINDS]
    if len(kinds) != 1:
        found = ", ".join(k for k, _, _ in kinds) or "none"
        raise node.error(f"a check needs exactly one of {', '.join(CHECK_KINDS)} (found: {found})")
    kind, _, target_node = kinds[0]
    target = target_node.text(kind, allow_numbers=True)
    allowed = CHECK_KINDS[kind]
    expect: dict[str, object] = {k: v for k, v in allowed.items() if v is not None}
    errors: list[DoctestError] = []
    for key, line, value in entries:
        if key == kind:
            continue
        try:
            if key not in allowed:
                raise unknown_key(key, line, node.path, f"a {kind} check", allowed)
            if key in ("installed", "running", "enabled", "exists", "listening"):
                expect[key] = value.flag(key)
            elif key == "exit":
                expect[key] = value.integer(key, minimum=0, maximum=255)
            elif key == "mode":
                expect[key] = _file_mode(value)
            else:  # contains, stdout_contains, user
                expect[key] = value.text(key, allow_numbers=True)
        except DoctestError as exc:
            errors.append(exc)
    raise_all(errors)
    return Check(kind=kind, target=target, expect=expect, path=node.path, line=node.line)


def _file_mode(node: YNode) -> int:
    """`mode: 0644` (YAML 1.1 reads it as octal) or `mode: "0644"` -> 0o644."""
    value = node.value()
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o7777:
        return value
    if isinstance(value, str) and re.fullmatch(r"0?o?[0-7]{3,4}", value.strip()):
        return int(value.strip().replace("o", ""), 8)
    raise node.error(f"mode must be an octal file mode like \"0644\", not {excerpt(node.node)}")


def _parse_timeout(node: YNode) -> int:
    value = node.value()
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]
    return node.integer("timeout", minimum=1)


def _set_option(options: OptionValues, key: str, node: YNode) -> None:
    """Read option `key` (an OPTION_KEYS key) from `node` into the StepOptions field it names."""
    if key in ("skip", "reboot", "pty"):
        flag = node.flag(key)
        if key == "skip":
            options["skip"] = flag
        elif key == "reboot":
            options["reboot"] = flag
        else:
            options["pty"] = flag
    elif key == "timeout":
        options["timeout"] = _parse_timeout(node)
    elif key == "expect-exit":
        options["expect_exit"] = node.integer(key, minimum=0, maximum=255)
    elif key == "requires":
        if node.is_list():
            items = [item.text("requires item") for item in node.seq("requires")]
        else:
            items = node.text("requires").split(",")
        options["requires"] = tuple(item.strip() for item in items if item.strip())
    elif key == "output":
        text = node.text("output")
        mode = next((m for m in OUTPUT_MODES if m == text), None)
        if mode is None:
            raise node.error(f"output must be one of {', '.join(OUTPUT_MODES)}, not {excerpt(text)}")
        options["output"] = mode
    elif key == "platform":
        options["platform"] = _parse_platform(node)
    elif key == "user":
        options["user"] = node.text(key, allow_numbers=False)
    elif key == "reason":
        options["reason"] = node.text(key, allow_numbers=True)
    else:
        options["name"] = node.text(key, allow_numbers=True)


def _parse_platform(node: YNode) -> str:
    """`any` (never skipped for its platform) or a platform the step is for (`macos`, `Fedora 39+`)."""
    value = node.text("platform", allow_numbers=False)
    if value.strip().lower() != "any" and not read_title(value).targets:
        raise node.error(f"platform must be 'any' or name a platform (macos, windows, fedora 39+, arm64...), "
                         f"not {excerpt(value)}")
    return value.strip()


def _parse_heading(node: YNode) -> tuple[str, ...]:
    parts = [item.text("heading item") for item in node.seq("heading")] if node.is_list() else (
        node.text("heading").split(">")
    )
    titles = tuple(" ".join(part.split()) for part in parts)
    if not all(titles):
        raise node.error("heading has an empty title (write 'A > B' or a list of titles)")
    return titles


def _load_rule(node: YNode) -> Rule:
    entries = node.items("a steps rule")
    keys = {key for key, _, _ in entries}
    rule = Rule(line=node.line)
    errors: list[DoctestError] = []
    inserting = "insert" in keys
    # `name` selects when nothing else does; next to another selector it names the selected step
    name_is_selector = not inserting and not keys & {"line", "heading", "command", "command_re"}
    for key, line, value in entries:
        try:
            if key == "insert":
                where = value.text("insert")
                if where not in ("before", "after"):
                    raise value.error(f"insert must be 'before' or 'after', not {excerpt(where)}")
                rule.insert = where  # type: ignore[assignment]
            elif key == "line":
                rule.at_line = value.integer("line", minimum=1)
            elif key == "name" and name_is_selector:
                rule.name = value.text("name", allow_numbers=True)
            elif key == "heading" and not inserting:
                rule.heading = _parse_heading(value)
            elif key == "command":
                if inserting:
                    rule.command = _load_script(value, "command").text
                else:
                    rule.command = value.text("command", allow_numbers=True)
            elif key == "command_re" and not inserting:
                rule.command_re = CommandPattern(value.text("command_re"), value.path, value.line)
            elif key == "alternative":
                rule.alternative = value.text("alternative")
            elif key in OPTION_KEYS:
                _set_option(rule.options, key, value)
            else:
                allowed = set(OPTION_KEYS) | {"insert", "line", "command"} if inserting else (
                    set(OPTION_KEYS) | set(SELECTOR_KEYS))
                what = "an insert rule" if inserting else "a steps rule"
                raise unknown_key(key, line, node.path, what, allowed)
        except DoctestError as exc:
            errors.append(exc)
    raise_all(errors)
    if inserting:
        if rule.at_line is None or rule.command is None:
            raise node.error("an insert rule needs line: (the prose line) and command: (what to run)")
    else:
        if rule.at_line is None and rule.name is None and rule.heading is None and rule.command is None and (
                rule.command_re is None and rule.alternative is None):
            raise node.error("a steps rule needs a selector: line, name, heading, command, command_re or alternative")
        if not rule.options:
            raise node.error("a steps rule sets nothing: add skip/reason, timeout, expect-exit, user, requires, "
                             "name, reboot, output or pty")
    return rule
