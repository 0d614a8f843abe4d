"""Platform scopes of a doc: which lines a heading, label, admonition or tab reserves for a platform.

A reader of a multi-platform guide follows one platform's sections. The author marks them in many
ways; each becomes a `Scope` (first and last line, the platforms it names):

    ### Fedora / RHEL              heading: to the next heading of the same or a higher level
    On macOS:  /  **Debian/Ubuntu**  /  * Fedora 39+:
                                   label: the code block(s) it introduces
    !!! note "On macOS"            admonition: its indented content
    === "Windows"   <TabItem label="macOS">   {{< tab "FreeBSD" >}}
                                   tab: its content (tab groups are decided together, see build.py)

Headings and admonition titles count only when their words are essentially a platform list
("macOS", "On Fedora 39+", "Installing on Windows", "CentOS / RHEL", "Arch Linux (AUR)"), so a
heading that mentions a platform in passing ("Booting Linux", "Why not Windows?", "Creating FreeBSD
rootfs images") never hides the Linux path. Pure: a function of the doc's lines and its headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from doctest_runner.plan.platform import Target, read_title, words

_FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?:>[ \t]?)*(?P<marker>`{3,}|~{3,})")
_ATX_RE = re.compile(r"^[ ]{0,3}#{1,6}(?:[ \t]|$)")
_ADMONITION_RE = re.compile(r'^(?P<indent>[ ]*)(?:!!!|\?\?\?\+?)[ \t]*(?:[\w-]+)?[ \t]*(?:"(?P<title>[^"]*)")?[ \t]*$')
_MKDOCS_TAB_RE = re.compile(r'^(?P<indent>[ ]*)===[!+]?[ \t]+"(?P<title>[^"]*)"[ \t]*$')
_TABITEM_OPEN_RE = re.compile(r"<TabItem\b(?P<attrs>[^>]*)>")
_TABITEM_CLOSE_RE = re.compile(r"</TabItem\s*>")
_ATTR_RE = re.compile(r"""(?P<key>\w+)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|\{\s*["'](?P<jsx>[^"']*)["']\s*\})""")
_HUGO_TAB_OPEN_RE = re.compile(r"\{\{[<%]\s*tab\s+(?P<args>[^>%]*?)\s*/?[>%]\}\}")
_HUGO_TAB_CLOSE_RE = re.compile(r"\{\{[<%]\s*/tab\s*[>%]\}\}")
# Hugo `{{< highlight bash >}}` / `{{< codeFromInline lang="bash" >}}` and Jinja `{% highlight bash %}`.
_SHORTCODE_OPEN_RE = re.compile(
    r"^\s*(?:\{\{[<%]\s*(?P<name>highlight|code|codeFromInline|codeblock)\b[^}]*[>%]\}\}"
    r"|\{%-?\s*(?P<jname>highlight)\b[^}]*%\})\s*$")
_LIST_RE = re.compile(r"^(?P<indent>[ \t]*)(?:[-*+]|\d+[.)])[ \t]+")
# A label is short: "On macOS:", "For Fedora 39+:", "**Debian/Ubuntu**", "* Fedora:".
_LABEL_MAX_WORDS = 8
# Words a label may add to its platform list ("If you are on macOS:", "Users of Fedora, run:").
_LABEL_FILLER = {"if", "you", "are", "use", "your", "have", "of", "do", "this", "following", "command",
                 "commands", "then", "first", "type", "enter", "execute"}


@dataclass(frozen=True)
class Scope:
    """Lines `line`..`end_line` (inclusive) are meant for the platforms in `targets`."""

    kind: str  # heading | label | admonition | mkdocs-tab | docusaurus-tab | hugo-tab
    line: int  # the heading / label / container header line
    end_line: int
    title: str
    targets: tuple[Target, ...]
    group: int = 0  # tabs: tabs of one tab set share a group (the set is decided together)

    def covers(self, line: int) -> bool:
        return self.line <= line <= self.end_line


def platform_targets(title: str, *, label: bool = False) -> tuple[Target, ...]:
    """The platforms a heading/label/admonition title is *for*; empty when it merely mentions one.

    Counts: the title is a platform list apart from filler words ("Installing on Windows",
    "Fedora 31 or later"), or ends in "on|for <platform list>" optionally followed by
    "with|using|via ..." ("Install CRI-O on Flatcar with Sysexts", "Prerequisites for AArch64").
    A negation ("Why not Windows?", "without macOS") never counts.
    """
    reading = read_title(title)
    if not reading.targets or reading.negated:
        return ()
    other = [w for w in reading.other if not (label and w in _LABEL_FILLER)]
    if not other:
        return reading.targets
    ws = words(title)
    for i in range(len(ws) - 1, -1, -1):
        if ws[i] not in ("on", "for"):
            continue
        tail = ws[i + 1:]
        for k, w in enumerate(tail):
            if w in ("with", "using", "via", "through"):
                tail = tail[:k]
                break
        sub = read_title(" ".join(tail))
        if sub.targets and not sub.other and not sub.negated:
            return sub.targets
        break
    return ()


def _is_fence_close(line: str, marker: str) -> bool:
    m = _FENCE_RE.match(line)
    return bool(m and m.group("marker")[0] == marker[0] and len(m.group("marker")) >= len(marker)
                and not line[m.end():].strip())


def code_lines(lines: list[str]) -> set[int]:
    """1-based lines inside fenced or shortcode code (delimiters included): no heading or label is read there."""
    inside: set[int] = set()
    marker: str | None = None
    closer: re.Pattern[str] | None = None
    for n, line in enumerate(lines, 1):
        if closer is not None:
            inside.add(n)
            if closer.search(line):
                closer = None
            continue
        if marker is not None:
            inside.add(n)
            if _is_fence_close(line, marker):
                marker = None
            continue
        sc = _SHORTCODE_OPEN_RE.match(line)
        if sc:
            name = sc.group("name") or sc.group("jname")
            closer = re.compile(r"\{%-?\s*endhighlight\b" if sc.group("jname") else
                                r"\{\{[<%]\s*/" + re.escape(name) + r"\s*[>%]\}\}")
            inside.add(n)
            continue
        m = _FENCE_RE.match(line)
        if m:
            marker = m.group("marker")
            inside.add(n)
    return inside


def _indent(line: str) -> int:
    line = line.expandtabs(4)
    return len(line) - len(line.lstrip(" "))


def label_text(line: str, before_code: bool = False) -> str | None:
    """The words of a label line ("On macOS:", "**Fedora**", "* Debian/Ubuntu:"), else None.

    `before_code`: the next non-blank line opens a code block, so a short line without a colon
    ("On Arch Linux via pacman (https://...)") introduces it too."""
    text = re.sub(r"\s*\((?:https?://|see )[^)]*\)", "", line.strip())
    text = _LIST_RE.sub("", text, count=1).strip() if _LIST_RE.match(line) else text
    text = text.lstrip(">").strip()
    bold = re.fullmatch(r"(\*\*|__)(?P<t>.+?)\1\s*:?", text) or re.fullmatch(r"(\*|_)(?P<t>[^*_]+?)\1\s*:?", text)
    if bold:
        text = bold.group("t").strip()
    elif not text.endswith(":") and not (before_code and re.match(r"(?i)(?:on|for|in)\b", text)):
        return None
    text = text.rstrip(":").strip().rstrip(",").strip()
    if not text or "`" in text or len(text.split()) > _LABEL_MAX_WORDS:
        return None
    return text


def heading_scopes(headings: list[tuple[int, tuple[str, ...]]], last_line: int,
                   code: frozenset[int] | set[int] = frozenset()) -> list[Scope]:
    """A platform heading covers everything to the next heading of the same or a higher level."""
    scopes: list[Scope] = []
    for k, (line, path) in enumerate(headings):
        if not path or line in code:
            continue
        targets = platform_targets(path[-1])
        if not targets:
            continue
        level = len(path)
        end = last_line
        for line2, path2 in headings[k + 1:]:
            if len(path2) <= level:
                end = line2 - 1
                break
        scopes.append(Scope("heading", line, end, path[-1], targets))
    return scopes


def label_scopes(lines: list[str], code: set[int], heading_lines: set[int]) -> list[Scope]:
    """A platform label covers the blocks it introduces: up to a heading, the next platform label, or
    prose at the label's indentation once a code block has followed it."""
    scopes: list[Scope] = []
    for n, line in enumerate(lines, 1):
        if n in code or n in heading_lines or not line.strip():
            continue
        nxt = next((k for k in range(n + 1, len(lines) + 1) if lines[k - 1].strip()), None)
        text = label_text(line, before_code=nxt is not None and nxt in code)
        if text is None:
            continue
        targets = platform_targets(text, label=True)
        if not targets:
            continue
        indent = _indent(line)
        end = n
        seen_code = False
        for m in range(n + 1, len(lines) + 1):
            cur = lines[m - 1]
            if m in code:
                seen_code = True
                end = m
                continue
            if m in heading_lines or _ATX_RE.match(cur):
                break
            if not cur.strip():
                continue
            if _indent(cur) > indent:
                end = m  # the label's list item or indented content
                if cur.startswith(" " * (indent + 4)) and not _LIST_RE.match(cur):
                    seen_code = True  # an indented code block
                continue
            other = label_text(cur)
            if other is not None and platform_targets(other, label=True):
                break
            if seen_code or _LIST_RE.match(cur):
                break
            end = m  # introduction before the first block ("Install it with:")
        if end > n:
            scopes.append(Scope("label", n, end, text, targets))
    return scopes


def _container_end(lines: list[str], start: int, indent: int) -> int:
    """Last line of an indented container (admonition / mkdocs tab) whose header is at `start`."""
    end = start
    for m in range(start + 1, len(lines) + 1):
        cur = lines[m - 1]
        if not cur.strip():
            continue
        if _indent(cur) <= indent:
            break
        end = m
    return end


def container_scopes(lines: list[str], code: set[int]) -> tuple[list[Scope], list[Scope]]:
    """(admonition scopes, tab spans) from mkdocs admonitions and tabs, Docusaurus and Hugo tabs."""
    admonitions: list[Scope] = []
    tabs: list[Scope] = []
    open_tabs: list[tuple[str, int, str]] = []  # (kind, line, title) of Docusaurus / Hugo tabs
    for n, line in enumerate(lines, 1):
        if n in code:
            continue
        m = _ADMONITION_RE.match(line)
        if m and m.group("title"):
            targets = platform_targets(m.group("title"))
            if targets:
                end = _container_end(lines, n, len(m.group("indent")))
                admonitions.append(Scope("admonition", n, end, m.group("title"), targets))
            continue
        m = _MKDOCS_TAB_RE.match(line)
        if m:
            end = _container_end(lines, n, len(m.group("indent")))
            tabs.append(Scope("mkdocs-tab", n, end, m.group("title"), read_title(m.group("title")).targets))
            continue
        for close in list(_TABITEM_CLOSE_RE.finditer(line)) + list(_HUGO_TAB_CLOSE_RE.finditer(line)):
            kind = "docusaurus" if close.re is _TABITEM_CLOSE_RE else "hugo"
            for k in range(len(open_tabs) - 1, -1, -1):
                if open_tabs[k][0] == kind:
                    _, start, title = open_tabs.pop(k)
                    tabs.append(Scope(f"{kind}-tab", start, n, title, read_title(title).targets))
                    break
        for m in _TABITEM_OPEN_RE.finditer(line):
            attrs = {a.group("key"): a.group("dq") or a.group("sq") or a.group("jsx") or ""
                     for a in _ATTR_RE.finditer(m.group("attrs"))}
            title = attrs.get("label") or attrs.get("value") or ""
            if not m.group("attrs").rstrip().endswith("/"):
                open_tabs.append(("docusaurus", n, title))
        for m in _HUGO_TAB_OPEN_RE.finditer(line):
            args = m.group("args")
            named = {a.group("key"): a.group("dq") or a.group("sq") or "" for a in _ATTR_RE.finditer(args)}
            positional = re.match(r'\s*"([^"]*)"', args)
            title = named.get("name") or named.get("header") or named.get("title") or (
                positional.group(1) if positional else "")
            open_tabs.append(("hugo", n, title))
    tabs.sort(key=lambda s: s.line)
    return admonitions, _tab_sets(lines, tabs)


_TAB_MARKUP_RE = re.compile(r"^\s*(?:</?TabItem\b[^>]*>|\{\{[<%]\s*/?tab\b[^}]*[>%]\}\})\s*$")


def _tab_sets(lines: list[str], tabs: list[Scope]) -> list[Scope]:
    """Number the tab sets: a tab continues the set of the one before it when only blank lines or
    tab-item markup lie between them (a `</Tabs>`, prose or a heading starts a new set)."""
    out: list[Scope] = []
    group = 0
    for k, tab in enumerate(tabs):
        if k:
            prev = tabs[k - 1]
            between = lines[prev.end_line:max(prev.end_line, tab.line - 1)]
            only_markup = all(not ln.strip() or _TAB_MARKUP_RE.match(ln) for ln in between)
            if tab.line <= prev.end_line or tab.kind != prev.kind or not only_markup:
                group += 1
        out.append(Scope(tab.kind, tab.line, tab.end_line, tab.title, tab.targets, group))
    return out


def doc_scopes(lines: list[str], headings: list[tuple[int, tuple[str, ...]]]) -> tuple[list[Scope], list[Scope]]:
    """(platform scopes from headings, labels and admonitions; tab spans), both in line order."""
    code = code_lines(lines)
    headings = [(line, path) for line, path in headings if line not in code]
    heading_lines = {line for line, _ in headings}
    admonitions, tabs = container_scopes(lines, code)
    scopes = heading_scopes(headings, len(lines), code) + label_scopes(lines, code, heading_lines) + admonitions
    scopes.sort(key=lambda s: (s.line, -s.end_line))
    return scopes, tabs


__all__ = ["Scope", "doc_scopes", "label_text", "platform_targets"]
