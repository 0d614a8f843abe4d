"""Decode the guest's saved shell state (`state.sh`, written by exec's guest/lib.sh) into Python (pure).

Why: the runner and the reports want to say where a guide was when a step failed (working directory,
umask, which variables and functions existed) without running anything more in the guest. The file
is bash (`cd`, `umask -p`, `declare -p`, `declare -f`, `alias -p`); we decode only what we show.
Words are decoded by `quoting.unquote`, `$'...'` included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from doctest_runner.shell.quoting import unquote

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
