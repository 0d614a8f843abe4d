"""Fence info strings: the language and its attributes, whatever the flavour.

    bash                      -> ("bash", {})
    bash title="x" linenums=1 -> ("bash", {"title": "x", "linenums": "1"})
    {.bash}                   -> ("bash", {})
    {.bash .numberLines #id}  -> ("bash", {"class": "numberLines", "id": "id"})
    console {hl_lines="2"}    -> ("console", {"hl_lines": "2"})
    {code-block} bash         -> ("bash", {"directive": "code-block"})   (MyST)
    {note}                    -> ("", {"directive": "note"})             (MyST, not code)
"""

from __future__ import annotations

import re

SHELL_LANGS = frozenset({
    "bash", "sh", "shell", "console", "shell-session", "zsh", "shellsession", "terminal", "sh-session",
})
# MyST directives whose body is code: ```{code-block} bash, ```{code} sh, ```{sourcecode} console
MYST_CODE_DIRECTIVES = frozenset({"code-block", "code", "sourcecode", "code-cell"})
_MYST_RE = re.compile(r"^\{(?P<name>[A-Za-z][\w:-]*)\}(?:[ \t]+(?P<arg>\S+))?(?P<rest>.*)$")

_TOKEN_RE = re.compile(
    r"""(?P<key>[A-Za-z_][\w:.-]*)=(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s{}]*))"""
    r"""|\.(?P<cls>[^\s{}.#]+)|\#(?P<id>[^\s{}]+)|(?P<word>[^\s{}=]+)"""
)


def parse_info(info: str) -> tuple[str, dict[str, str]]:
    """Split an info string into a normalised language and its attributes."""
    text = info.strip()
    myst = _MYST_RE.match(text)
    if myst:
        name = myst.group("name").lower()
        arg = (myst.group("arg") or "").lower()
        return (arg if name in MYST_CODE_DIRECTIVES else ""), {"directive": name}
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


# Languages of Windows shells: their blocks are steps for Windows (Step.platform = "windows").
WINDOWS_LANGS = frozenset({
    "powershell", "ps1", "pwsh", "posh", "ps1con", "pwsh-session", "powershell-session", "cmd", "bat",
    "batch", "doscon", "winbatch",
})


def is_windows_lang(lang: str) -> bool:
    return lang in WINDOWS_LANGS
