"""Fence info strings: the language and its attributes, whatever the flavour.

    bash                      -> ("bash", {})
    bash title="x" linenums=1 -> ("bash", {"title": "x", "linenums": "1"})
    {.bash}                   -> ("bash", {})
    {.bash .numberLines #id}  -> ("bash", {"class": "numberLines", "id": "id"})
    console {hl_lines="2"}    -> ("console", {"hl_lines": "2"})
"""

from __future__ import annotations

import re

SHELL_LANGS = frozenset({"bash", "sh", "shell", "console", "shell-session", "zsh", "shellsession"})

_TOKEN_RE = re.compile(
    r"""(?P<key>[A-Za-z_][\w:.-]*)=(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s{}]*))"""
    r"""|\.(?P<cls>[^\s{}.#]+)|\#(?P<id>[^\s{}]+)|(?P<word>[^\s{}=]+)"""
)


def parse_info(info: str) -> tuple[str, dict[str, str]]:
    """Split an info string into a normalised language and its attributes."""
    text = info.strip()
    lang = ""
    attrs: dict[str, str] = {}
    classes: list[str] = []
    rest = text
    if text and not text.startswith("{"):
        m = re.match(r"[^\s{]+", text)
        if m:
            word = m.group(0)
            if "=" not in word:
                lang = word
                rest = text[m.end():]
    for m in _TOKEN_RE.finditer(rest):
        if m.group("key"):
            value = m.group("dq")
            if value is None:
                value = m.group("sq")
            if value is None:
                value = m.group("bare") or ""
            attrs[m.group("key")] = value
        elif m.group("cls"):
            classes.append(m.group("cls"))
        elif m.group("id"):
            attrs["id"] = m.group("id")
    if not lang and classes:
        lang = classes.pop(0)
    if classes:
        attrs["class"] = " ".join(classes)
    lang = lang.lstrip(".").lower()
    lang = lang.removeprefix("language-")
    return lang, attrs


def is_shell_lang(lang: str) -> bool:
    return lang in SHELL_LANGS
