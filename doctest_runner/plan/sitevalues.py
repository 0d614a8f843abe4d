"""Site-generator values left in a command: `{{< stableVersion >}}`, `{{ .Site.Params.version }}`, `{{ page.version }}`.

The rendered page shows a real value; the Markdown source keeps the template, so the command as written
cannot work (bash reads `{{< stableVersion >}}` as a redirect from a file called `stableVersion`). The plan
fills each one from a sidecar var of the same name (the template's last name: `version` for
`{{ .Site.Params.version }}`), and skips a step that still holds one, naming the var to give: running it
would only report the doc as broken when the site is not.

Which templates count: Hugo shortcodes (`{{< x >}}`, `{{% x %}}`, never Go template syntax), and values under a
site generator's own roots (Hugo `.Site`, `site`, `.Params`, `.Page`; Liquid/Jekyll `site`, `page`,
`include`, `layout`, `jekyll`; MkDocs macros `config.extra`, `extra`). A Go template that the command itself
passes as a quoted format (`docker inspect -f '{{.State.Pid}}'`, `kubectl -o go-template='{{...}}'`) uses
none of these roots, and a quoted format argument is left alone even when it does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SHORTCODE = (r"\{\{(?P<d>[<%])-?\s*(?P<name>[A-Za-z_][\w.-]*)(?P<args>(?:\s[^{}]*?)?)\s*-?(?:>|%)\}\}")
_ROOTS = r"(?:\$?\.Site|site|\$?\.Params|\$?\.Page|page|include|layout|jekyll|config\.extra|extra)"
_ROOTED = (r"\{\{-?\s*(?P<path>" + _ROOTS + r"(?:\.[A-Za-z_][\w-]*)+)\s*(?:\|[^{}]*?)?-?\}\}")
TEMPLATE_RE = re.compile(_SHORTCODE + "|" + _ROOTED)
# Shortcodes that read a site parameter named in their argument: `{{< param "version" >}}`.
_PARAM_SHORTCODES = frozenset({"param", "params", "site-param", "siteparam"})
_QUOTED_ARG = re.compile(r"""["']([\w.-]+)["']|^\s*([\w.-]+)\s*$""")
# A quoted argument that is a format/template the command renders itself.
_FORMAT_OPTION = re.compile(
    r"""(?:(?:^|\s)(?:-f|-o|--format|--template|--output|--go-template|--jsonpath|-t)(?:[= ]\s*)"""
    r"""|(?:go-template|template|jsonpath|custom-columns)=)\s*$"""
)


@dataclass(frozen=True)
class SiteValue:
    """One template value in a command: where, as written, and the sidecar var that fills it."""

    start: int
    end: int
    text: str
    var: str


def _var_name(m: re.Match[str]) -> str:
    if m.group("name") is not None:
        name = m.group("name")
        if name.lower() in _PARAM_SHORTCODES:
            arg = _QUOTED_ARG.search(m.group("args") or "")
            if arg:
                return (arg.group(1) or arg.group(2)).rsplit(".", 1)[-1]
        return name.rsplit(".", 1)[-1]
    return m.group("path").rsplit(".", 1)[-1]


def _quoted_spans(command: str) -> list[tuple[int, int]]:
    """(start, end) of each quoted string in the command, quotes included (a rough shell reading)."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(command)
    while i < n:
        c = command[i]
        if c == "\\":
            i += 2
            continue
        if c in "'\"":
            j = i + 1
            while j < n and command[j] != c:
                j += 2 if c == '"' and command[j] == "\\" else 1
            spans.append((i, min(j + 1, n)))
            i = j + 1
            continue
        i += 1
    return spans


def _is_format_argument(command: str, start: int, spans: list[tuple[int, int]]) -> bool:
    """Whether the template at `start` sits in a quoted format/template the command renders itself."""
    for a, b in spans:
        if a <= start < b:
            word_start = max(command.rfind(" ", 0, a), command.rfind("\n", 0, a)) + 1
            return bool(_FORMAT_OPTION.search(command[max(0, word_start - 30):a]))
    return False


def site_values(command: str) -> list[SiteValue]:
    """Every site-generator value in `command`, in order (none for Go templates the command renders)."""
    if "{{" not in command:
        return []
    spans: list[tuple[int, int]] | None = None
    out: list[SiteValue] = []
    for m in TEMPLATE_RE.finditer(command):
        if m.group("name") is None:  # a rooted value: a quoted format argument is the command's own
            spans = _quoted_spans(command) if spans is None else spans
            if _is_format_argument(command, m.start(), spans):
                continue
        out.append(SiteValue(m.start(), m.end(), m.group(0), _var_name(m)))
    return out


def fill(command: str, values: dict[str, str]) -> str:
    """`command` with each site value whose var is given replaced by the var's value."""
    found = [v for v in site_values(command) if v.var in values]
    for v in reversed(found):
        command = command[: v.start] + values[v.var] + command[v.end:]
    return command


REASON_PREFIX = "uses the site generator's value"  # every skip_reason starts so (classify reads it back)


def is_site_value_skip(reason: str | None) -> bool:
    """Whether a step was skipped for holding a site-generator value: meant for this reader, but not judged."""
    return reason is not None and reason.startswith(REASON_PREFIX)


def skip_reason(values: list[SiteValue]) -> str:
    """Why a step holding `values` is not run, naming the sidecar vars that would fill them."""
    texts = list(dict.fromkeys(v.text for v in values))
    names = list(dict.fromkeys(v.var for v in values))
    if len(texts) == 1:
        return f"{REASON_PREFIX} {texts[0]}; give it with sidecar vars: {', '.join(names)}"
    return f"{REASON_PREFIX}s {', '.join(texts)}; give them with sidecar vars: {', '.join(names)}"
