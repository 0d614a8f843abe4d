"""mkdocs-material containers that mistune does not know: content tabs and admonitions.

    === "Ubuntu"            !!! note "Title"          ??? tip / ???+ tip
        ```bash                 Text indented by
        sudo apt ...            four spaces.
        ```

To mistune these are a paragraph followed by lazy continuation lines, so the code inside would be
lost. A pre-pass blanks the header line and removes exactly the container's four columns of
indentation from its content, line for line: line numbers stay exact, and anything indented deeper
(YAML inside a heredoc, nested lists) keeps its shape. The containers are returned with their line
ranges so blocks can be tagged with their tab title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAB_RE = re.compile(r'^(?P<indent>[ ]*)===[!+]?[ \t]+"(?P<title>[^"]*)"[ \t]*$')
_ADMONITION_RE = re.compile(
    r'^(?P<indent>[ ]*)(?P<mark>!!!|\?\?\?\+?)[ \t]+(?P<type>[\w-]+)(?:[ \t]+"(?P<title>[^"]*)")?[ \t]*$'
)
_FENCE_OPEN_RE = re.compile(r"^[ \t]*(?P<marker>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class Container:
    """A tab or admonition: header line and last content line (1-based, inclusive)."""

    kind: str  # "tab" | "admonition"
    title: str
    line: int  # header line
    end_line: int  # last content line
    indent: int  # columns of the header

    def contains(self, line: int) -> bool:
        return self.line < line <= self.end_line


def _expand_leading_tabs(line: str) -> str:
    if "\t" not in line:
        return line
    col = 0
    i = 0
    while i < len(line) and line[i] in " \t":
        col = col + 4 - col % 4 if line[i] == "\t" else col + 1
        i += 1
    return " " * col + line[i:]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))



Fence = tuple[str, int] | None  # (marker char, length) of the open fence, or None


def track_fence(line: str, fence: Fence) -> tuple[bool, Fence]:
    """Whether `line` is fenced code (a fence line or inside one), and the fence state after it.

    Passes that rewrite container or shortcode markers line by line use it so that such markers shown
    inside a code block stay content."""
    if fence is not None:
        stripped = line.strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= fence[1]:
            return True, None
        return True, fence
    fm = _FENCE_OPEN_RE.match(line)
    if fm is None:
        return False, None
    marker = fm.group("marker")
    if marker[0] == "`" and "`" in fm.group("info"):  # inline code, not a fence
        return True, None
    return True, (marker[0], len(marker))


def preprocess(lines: list[str]) -> tuple[list[str], list[Container]]:
    """Unwrap tabs/admonitions in place (same number of lines); return new lines and containers."""
    out = list(lines)
    containers: list[Container] = []
    fence: Fence = None
    i = 0
    n = len(out)
    while i < n:
        line = out[i]
        in_code, fence = track_fence(line, fence)
        if in_code:
            i += 1
            continue
        m = _TAB_RE.match(line) or _ADMONITION_RE.match(line)
        if m is None:
            i += 1
            continue
        base = len(m.group("indent"))
        body_indent = base + 4
        j = i + 1
        last = i
        while j < n:
            candidate = _expand_leading_tabs(out[j])
            if not candidate.strip():
                j += 1
                continue
            if _indent(candidate) >= body_indent:
                last = j
                j += 1
                continue
            break
        if last == i:  # no content: plain text, leave it alone
            i += 1
            continue
        kind = "tab" if line.lstrip().startswith("===") else "admonition"
        title = m.group("title") or ""
        if kind == "admonition" and not title:
            title = m.group("type").capitalize()
        containers.append(Container(kind, title, i + 1, last + 1, base))
        out[i] = ""
        for k in range(i + 1, last + 1):
            raw = out[k]
            if not raw.startswith(" " * body_indent) and raw.strip():
                raw = _expand_leading_tabs(raw)  # only tabs in the container's own indentation
            out[k] = raw[:base] + raw[body_indent:]
        i += 1  # rescan the unwrapped content: it may hold fences and nested containers
    return out, containers


def innermost(containers: list[Container], line: int, kind: str) -> Container | None:
    """The innermost container of `kind` holding `line` (1-based)."""
    best: Container | None = None
    for c in containers:
        if c.kind == kind and c.contains(line) and (best is None or c.line > best.line):
            best = c
    return best
