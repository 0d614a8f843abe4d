"""Rule `placeholder`: things the reader must fill in before a command can work.

Three kinds, all errors because the step fails (or silently does the wrong thing) as written:

* angle-bracket placeholders, `<VERSION>`, `<your-registry>`, `<node name>`; unquoted, bash even
  reads `<node-name>` as two redirects, so `kubectl label node <node-name> x=y` "works" on the
  wrong thing. Not placeholders: redirections (`< file`, `<<EOF`, `<<<`, `<(...)`), HTML/XML
  markup (known tags, or a tag closed by `</tag>` in the same step), shell comments.
* site-generator template values the page renders but the Markdown source keeps:
  `{{< stableVersion >}}`, `{{% version %}}`, `{{ .Site.Params.version }}` (Hugo). Go templates a
  command really takes (`docker inspect -f '{{.State.Running}}'`) are not these: only shortcode
  delimiters and Hugo's own roots (`.Site`, `site`, `.Params`, `.Page`) count. A sidecar var of the
  shortcode's name fills `{{< NAME >}}`.
* variables used but never set: walking the plan's steps in run order (sidecar setup first),
  a `$VAR` is fine when an earlier command set it (assignment, export/declare/local/readonly,
  read, mapfile, for/select, getopts, printf -v, ${VAR:=x}, ((VAR=..))), the sidecar's `vars`
  give it, or it is one of `shell.COMMON_ENV` (proxy variables included). `${VAR:-x}` / `${VAR:+x}`
  and `[ -z "$VAR" ]` are fine with VAR unset, and so are bare names in arithmetic (an unset
  counter is 0 by design). `. /etc/os-release` sets the os-release names. After `eval` or
  sourcing any other file, anything could be set, so the rest of the doc is not checked.
  Each unset name is reported once, where it is first used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from doctest_runner.lint.context import LintContext, ShellStep
from doctest_runner.shell import ASSIGN_RE, SimpleCommand, VarRef, command_argv, is_common_env
from doctest_runner.model import Finding

RULE = "placeholder"


OS_RELEASE_VARS = frozenset(
    [
        "NAME",
        "VERSION",
        "ID",
        "ID_LIKE",
        "VERSION_ID",
        "VERSION_CODENAME",
        "PRETTY_NAME",
        "UBUNTU_CODENAME",
        "HOME_URL",
        "SUPPORT_URL",
        "BUG_REPORT_URL",
        "PRIVACY_POLICY_URL",
        "BUILD_ID",
        "VARIANT",
        "VARIANT_ID",
        "LOGO",
        "CPE_NAME",
        "PLATFORM_ID",
        "DEBIAN_CODENAME",
        "REDHAT_SUPPORT_PRODUCT",
        "REDHAT_SUPPORT_PRODUCT_VERSION",
        "ANSI_COLOR",
        "DISTRIB_ID",
        "DISTRIB_RELEASE",
        "DISTRIB_CODENAME",
        "DISTRIB_DESCRIPTION",
    ]
)
_OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release", "/etc/lsb-release")
# Sourcing these sets PATH and friends, never a doc's own variables.
_HARMLESS_SOURCE_RE = re.compile(
    r"^(~|\$HOME|\$\{HOME\})/\.(bashrc|profile|bash_profile|zshrc|cargo/env)$|^/etc/(profile|bash\.bashrc)$"
)

_DECLARERS = {"export", "declare", "typeset", "local", "readonly"}
_READ_ARG_OPTS = set("adinNptu")

# Tags whose <name> is markup, not a placeholder (inside heredocs writing HTML, or in echoes).
HTML_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "body",
        "br",
        "center",
        "code",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "em",
        "font",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "hr",
        "html",
        "i",
        "img",
        "kbd",
        "li",
        "meta",
        "ol",
        "p",
        "pre",
        "s",
        "script",
        "small",
        "span",
        "strong",
        "style",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "tt",
        "u",
        "ul",
    ]
)
_ANGLE_RE = re.compile(r"(?<![<\\])<([A-Za-z][A-Za-z0-9_.:/-]*(?: [A-Za-z0-9_.:/-]+)*)>")


# ---- angle-bracket placeholders -----------------------------------------------------------------


def angle_placeholders(text: str, skip_spans: Sequence[tuple[int, int]] = ()) -> list[tuple[int, str]]:
    """(offset, placeholder) for each `<name>` in `text` that is not markup nor inside a skipped span."""
    out = []
    for m in _ANGLE_RE.finditer(text):
        name = m.group(1)
        if any(a <= m.start() < b for a, b in skip_spans):
            continue
        if name.lower() in HTML_TAGS or f"</{name}>" in text:
            continue
        out.append((m.start(), m.group(0)))
    return out


_TEMPLATE_RE = re.compile(
    r"\{\{(?P<d>[<%])-?\s*(?P<name>[A-Za-z_][\w.-]*)[^{}]*?-?(?P=d)?[>%]\}\}"
    r"|\{\{-?\s*(?P<hugo>(?:\.Site|site|\.Params|\.Page|\$\.Site)\.[\w.]+)\s*-?\}\}"
)


def template_placeholders(text: str) -> list[tuple[int, str]]:
    """(offset, text) of each Hugo template value in `text`: `{{< name >}}`, `{{ .Site.Params.x }}`."""
    return [(m.start(), m.group(0)) for m in _TEMPLATE_RE.finditer(text)]


def _template_texts(text: str) -> tuple[str, str]:
    m = _TEMPLATE_RE.match(text)
    name = (m.group("name") or m.group("hugo")) if m else text
    short = name.rsplit(".", 1)[-1]
    message = f"unresolved template value {text}: the site renders it, the reader of the source must replace it"
    hint = f"give it in the sidecar's vars (`{short}: ...`), or write a real value" if m and m.group("name") else (
        "write a real value (or a shortcode the sidecar's vars can fill)")
    return message, hint


def _file_comment_spans(text: str) -> list[tuple[int, int]]:
    """Whole-line comments of a config file (# or //): prose about the file, not its content."""
    spans = []
    for m in re.finditer(r"(?m)^[ \t]*(#|//).*$", text):
        spans.append((m.start(), m.end()))
    return spans


# ---- unset variables ----------------------------------------------------------------------------


def _assigned_name(word: str) -> str:
    """The variable an assignment word (`NAME=...`, `NAME+=...`, `NAME[i]=...`) sets; the lexer made it one."""
    m = ASSIGN_RE.match(word)
    return m.group(1) if m else word.split("=", 1)[0]


def _defined_by(cmd: SimpleCommand) -> tuple[list[tuple[str, int]], bool]:
    """(names this command sets with the offset they count from, does it make the rest opaque?)."""
    argv = cmd.argv
    if not argv:  # X=1 Y=2: pure assignments persist
        return [(_assigned_name(w.text), w.end) for w in cmd.assignments], False
    words = command_argv(cmd)
    if not words:
        return [], False
    name = words[0].value
    end = cmd.words[-1].end if cmd.words else cmd.start
    defs: list[tuple[str, int]] = []
    if name in _DECLARERS:
        for w in words[1:]:
            if w.value.startswith("-"):
                continue
            if w.text.startswith("$"):  # export $(grep ... .env): anything may be set
                return defs, True
            m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)", w.value)
            if m:
                defs.append((m.group(1), w.end))
        return defs, False
    if name == "read":
        i = 1
        names = []
        while i < len(words):
            v = words[i].value
            if v.startswith("-") and len(v) > 1:
                if v[-1] in _READ_ARG_OPTS:
                    if v[-1] == "a" and i + 1 < len(words):
                        names.append(words[i + 1].value)
                    i += 2
                    continue
                i += 1
                continue
            names.append(v)
            i += 1
        return [(n, end) for n in names or ["REPLY"]], False
    if name in ("mapfile", "readarray"):
        rest = [w.value for w in words[1:] if not w.value.startswith("-")]
        return [(rest[-1] if rest else "MAPFILE", end)], False
    if name in ("for", "select") and len(words) > 1:
        return [(words[1].value, words[1].end)], False
    if name == "getopts" and len(words) > 2:
        return [(words[2].value, end)], False
    if name == "printf":
        for i, w in enumerate(words[:-1]):
            if w.value == "-v":
                return [(re.sub(r"\[.*", "", words[i + 1].value), end)], False
        return [], False
    if name in ("source", ".") and len(words) > 1:
        path = words[1].value
        if path in _OS_RELEASE_FILES:
            return [(n, end) for n in OS_RELEASE_VARS], False
        if _HARMLESS_SOURCE_RE.match(path):
            return [], False
        return [], True
    if name == "eval":
        return [], True
    return [], False


def _unset_variables(ctx: LintContext) -> Iterator[Finding]:
    defined = set(ctx.plan.vars)
    reported: set[str] = set()
    for s in ctx.shell:
        # (offset, order, what): a name set there, or a reference read there; sets sort first at one offset
        events: list[tuple[int, int, str | VarRef]] = []
        opaque_at: int | None = None
        for cmd in s.script.commands:
            defs, opaque = _defined_by(cmd)
            for name, offset in defs:
                events.append((offset, 0, name))
            if opaque and opaque_at is None:
                opaque_at = cmd.start
        for name, offset in s.script.arith_defs:
            events.append((offset, 0, name))
        for ref in s.script.refs:
            events.append((ref.start, 1, ref))
        events.sort(key=lambda e: (e[0], e[1]))
        for offset, _, what in events:
            if opaque_at is not None and offset > opaque_at:
                break
            if isinstance(what, str):  # a definition
                defined.add(what)
                continue
            name = what.name
            if what.op in (":=", "="):
                defined.add(name)
                continue
            if (
                name in defined
                or name in reported
                or is_common_env(name)
                or what.in_test
                or what.op in (":-", "-", ":+", "+", "arith")
            ):
                continue
            reported.add(name)
            yield ctx.finding(
                s,
                offset,
                RULE,
                "error",
                f"variable ${name} is used but never set (not by an earlier step, nor the sidecar's vars)",
                f"set it in an earlier step (`{name}=...`) or give it in the sidecar's `vars:`",
            )
        if opaque_at is not None:
            return


def check(ctx: LintContext) -> Iterator[Finding]:
    for s in ctx.shell:
        templates = template_placeholders(s.step.command)
        spans = list(s.script.comments) + [(offset, offset + len(text)) for offset, text in templates]
        for offset, text in angle_placeholders(s.step.command, spans):
            yield _angle_finding(ctx, s, offset, text)
        for offset, text in templates:
            yield ctx.finding(s, offset, RULE, "error", *_template_texts(text))
    for step in ctx.files:
        for offset, text in angle_placeholders(step.command, _file_comment_spans(step.command)):
            line = step.source_line(step.command.count("\n", 0, offset))
            yield ctx.finding_at(step, line, RULE, "error", *_angle_texts(text))
    yield from _unset_variables(ctx)


def _angle_texts(text: str) -> tuple[str, str]:
    name = text[1:-1]
    var = re.sub(r"[^A-Za-z0-9_]", "_", name).upper()
    message = f"unresolved placeholder {text}: the reader must replace it before running"
    hint = f"write a real value, or set a variable earlier (or in the sidecar's vars) and use ${{{var}}}"
    return message, hint


def _angle_finding(ctx: LintContext, s: ShellStep, offset: int, text: str) -> Finding:
    return ctx.finding(s, offset, RULE, "error", *_angle_texts(text))
