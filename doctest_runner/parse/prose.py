"""Prose steps: instructions a reader must carry out but for which the doc gives no command.

"Download a release from:", "Unpack the downloaded archive.", "Start the containerd service." -
a doc tester cannot run these, so lint reports them (issue #5) and a sidecar may supply commands.

Deliberately conservative: the text must start with an imperative verb from a fixed list, be the
first paragraph of a list item or a top-level paragraph (not a note in a block quote or an
admonition), and no code block may follow before the next list item or heading (for a list item:
within that item).
"""

from __future__ import annotations

import re

from doctest_runner.model import Prose

from .containers import Container, innermost
from .markdown import Element

IMPERATIVE_VERBS = frozenset(
    {
        "download", "unpack", "extract", "install", "uninstall", "configure", "start", "stop", "enable",
        "disable", "restart", "reload", "create", "add", "edit", "copy", "move", "run", "build", "set",
        "remove", "delete", "modify", "update", "upgrade", "apply", "clone", "uncomment", "replace",
        "change", "mount", "load", "export", "reboot", "deploy", "append", "generate", "launch",
        "execute", "fetch", "pull", "compile", "untar", "unzip", "import", "register", "symlink",
    }
)

_LEAD_MARKUP = re.compile(r"^[\s*_~>]+")
_WORD = re.compile(r"[A-Za-z]+")


def imperative_verb(text: str) -> str | None:
    """The leading imperative verb of `text`, if it has one from the list."""
    stripped = _LEAD_MARKUP.sub("", text)
    m = _WORD.match(stripped)
    if not m:
        return None
    word = m.group(0)
    after = stripped[m.end(): m.end() + 1]
    if after and after not in " \t\n:,.;":
        return None  # e.g. "Set-up", "Run's", a link or code span glued to the word
    return word.lower() if word.lower() in IMPERATIVE_VERBS else None


def find_prose(
    elements: list[Element],
    path: str,
    heading_at: dict[int, tuple[str, ...]],
    containers: list[Container],
) -> list[Prose]:
    """Prose steps among `elements` (document order); `heading_at` maps element index to heading."""
    found: list[Prose] = []
    for idx, el in enumerate(elements):
        if el.kind != "para" or el.in_quote:
            continue
        if el.in_item and not el.first_in_item:
            continue
        if innermost(containers, el.line, "admonition") is not None:
            continue
        if imperative_verb(el.text) is None:
            continue
        nxt = elements[idx + 1] if idx + 1 < len(elements) else None
        if not el.in_item and nxt is not None and nxt.kind == "item" and el.text.rstrip().endswith(":"):
            continue  # introduces a list: the items carry the instructions
        followed = False
        for k in range(idx + 1, len(elements)):
            other = elements[k]
            if other.kind in ("heading", "item"):
                break
            if el.in_item and other.depth < el.depth:
                break  # left the list item: a later block belongs to something else
            if other.kind == "code":
                followed = True
                break
        if followed:
            continue
        text = " ".join(part.strip() for part in el.text.strip().split("\n"))
        if len(text) > 300:
            text = text[:297] + "..."
        found.append(Prose(path=path, line=el.line, text=text, heading=heading_at.get(idx, ())))
    return found
