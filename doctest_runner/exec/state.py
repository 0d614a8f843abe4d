"""Read the guest's saved shell state (`state.sh`, written by guest/lib.sh) back into Python (pure).

Why: the runner and the reports want to say where a guide was when a step failed (working directory,
umask, which variables and functions existed) without running anything more in the guest. The file
is bash (`cd`, `umask -p`, `declare -p`, `declare -f`, `alias -p`); we decode only what we show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ESC = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "e": "\x1b", "E": "\x1b",
        "\\": "\\", "'": "'", '"': '"', "?": "?"}
_DECL = re.compile(r"^declare -(?P<flags>[-a-zA-Z]+) (?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:=(?P<value>.*))?$", re.DOTALL)
_FUNC = re.compile(r"^([^\s()=]+) \(\) $")
_ALIAS = re.compile(r"^alias (?P<name>[^=]+)=(?P<value>.*)$", re.DOTALL)


@dataclass
class ShellState:
    """The part of a session's shell state a report shows."""

    cwd: str | None = None
    umask: str | None = None
    variables: dict[str, str] = field(default_factory=dict)  # scalars; arrays keep bash's `(...)` text
    exported: set[str] = field(default_factory=set)
    functions: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {k: v for k, v in self.variables.items() if k in self.exported}


def unquote(word: str) -> str:
    """Decode one bash word as `printf %q`, `declare -p` and `alias -p` write it.

    Handles backslash escapes, '...', "..." and $'...'; stops at the first unquoted blank.
    """
    out: list[str] = []
    i, n = 0, len(word)
    while i < n:
        c = word[i]
        if c in " \t\n":
            break
        if c == "\\" and i + 1 < n:
            if word[i + 1] != "\n":
                out.append(word[i + 1])
            i += 2
        elif c == "'":
            j = word.index("'", i + 1) if "'" in word[i + 1:] else n
            out.append(word[i + 1:j])
            i = j + 1
        elif c == '"':
            i += 1
            while i < n and word[i] != '"':
                if word[i] == "\\" and i + 1 < n and word[i + 1] in '\\"$`\n':
                    if word[i + 1] != "\n":
                        out.append(word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            i += 1
        elif c == "$" and i + 1 < n and word[i + 1] == "'":
            i += 2
            while i < n and word[i] != "'":
                if word[i] == "\\" and i + 1 < n:
                    e = word[i + 1]
                    if e in _ESC:
                        out.append(_ESC[e])
                        i += 2
                    elif e == "x":
                        m = re.match(r"[0-9a-fA-F]{1,2}", word[i + 2:])
                        out.append(chr(int(m.group(0), 16)) if m else "\\x")
                        i += 2 + (len(m.group(0)) if m else 0)
                    elif e in "01234567":
                        m = re.match(r"[0-7]{1,3}", word[i + 1:])
                        assert m is not None
                        out.append(chr(int(m.group(0), 8)))
                        i += 1 + len(m.group(0))
                    else:
                        out.append("\\" + e)
                        i += 2
                else:
                    out.append(word[i])
                    i += 1
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _statements(text: str) -> list[str]:
    """Split the file into statements, joining lines while a quote is open (values may hold newlines)."""
    stmts: list[str] = []
    buf: list[str] = []
    for line in text.split("\n"):
        buf.append(line)
        joined = "\n".join(buf)
        if not _open_quote(joined):
            stmts.append(joined)
            buf = []
    if buf:
        stmts.append("\n".join(buf))
    return stmts


def _open_quote(s: str) -> bool:
    quote: str | None = None
    i = 0
    while i < len(s):
        c = s[i]
        if quote is None:
            if c == "\\":
                i += 2
                continue
            if c == "$" and s[i + 1:i + 2] == "'":
                quote = "$'"
                i += 2
                continue
            if c in "'\"":
                quote = c
        elif quote == "'":
            if c == "'":
                quote = None
        elif quote == "$'":
            if c == "\\":
                i += 2
                continue
            if c == "'":
                quote = None
        else:  # inside "..."
            if c == "\\":
                i += 2
                continue
            if c == '"':
                quote = None
        i += 1
    return quote is not None


def parse_state(text: str) -> ShellState:
    """Parse a state file written by guest/lib.sh."""
    st = ShellState()
    head, _, funcs = text.partition("\n# --- functions\n")
    for line in funcs.split("\n"):  # function bodies are not parsed, only their names
        if (m := _FUNC.match(line)) and not m.group(1).startswith("__dt_"):
            st.functions.append(m.group(1))
    in_func = False
    for stmt in _statements(head):
        if in_func:
            if stmt == "}":
                in_func = False
            continue
        if stmt.startswith("cd -- "):
            st.cwd = unquote(stmt[len("cd -- "):])
        elif stmt.startswith("umask "):
            st.umask = stmt.split()[-1]
        elif m := _DECL.match(stmt):
            flags, name, value = m.group("flags"), m.group("name"), m.group("value")
            if "a" in flags or "A" in flags:
                st.variables[name] = value or "()"
            else:
                st.variables[name] = unquote(value) if value is not None else ""
            if "x" in flags:
                st.exported.add(name)
        elif m := _FUNC.match(stmt):
            if not m.group(1).startswith("__dt_"):
                st.functions.append(m.group(1))
            in_func = True
        elif m := _ALIAS.match(stmt):
            st.aliases[m.group("name")] = unquote(m.group("value"))
    return st
