"""One bash word with its quoting removed, as the shell passes it on (expansions are kept as written).

Why one decoder: the saved `declare -p` / `printf %q` state a report shows (`unquote`) and the string a step
hands to another shell, `sh -c '...'`, that lint checks (`literal_value`) ask the same question; the offsets
let lint map each character of an inner script back to the line it was written on.
"""

from __future__ import annotations

import re

_ESC = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "e": "\x1b", "E": "\x1b",
        "\\": "\\", "'": "'", '"': '"', "?": "?"}


def unquote(word: str) -> str:
    """Decode one bash word as `printf %q`, `declare -p` and `alias -p` write it.

    Handles backslash escapes, '...', "..." and $'...'; stops at the first unquoted blank.
    """
    decoded = _decode(word, ansi_c=True, stop_at_blank=True)
    assert decoded is not None  # only `ansi_c=False` gives up
    return decoded[0]


def literal_value(text: str) -> tuple[str, list[int]] | None:
    """The word `text` as the outer shell passes it on (quotes removed, escapes resolved, expansions kept as
    written), with each character's offset in `text`; None for `$'...'`, whose escapes are not tracked."""
    return _decode(text, ansi_c=False, stop_at_blank=False)


def _decode(text: str, *, ansi_c: bool, stop_at_blank: bool) -> tuple[str, list[int]] | None:
    out: list[str] = []
    offs: list[int] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if stop_at_blank and c in " \t\n":
            break
        if c == "\\" and i + 1 < n:
            if text[i + 1] != "\n":  # backslash-newline joins lines
                out.append(text[i + 1])
                offs.append(i + 1)
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            end = n if end < 0 else end
            out.extend(text[i + 1:end])
            offs.extend(range(i + 1, end))
            i = end + 1
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
                    if text[i + 1] != "\n":
                        out.append(text[i + 1])
                        offs.append(i + 1)
                    i += 2
                    continue
                out.append(text[i])
                offs.append(i)
                i += 1
            i += 1
        elif text.startswith("$'", i):
            if not ansi_c:
                return None
            i = _ansi_c(text, i + 2, out, offs)
        else:
            out.append(c)
            offs.append(i)
            i += 1
    return "".join(out), offs


def _ansi_c(text: str, i: int, out: list[str], offs: list[int]) -> int:
    """Decode the body of `$'...'` from `i` (just past the opening quote); returns the offset past its end."""
    n = len(text)
    while i < n and text[i] != "'":
        if text[i] == "\\" and i + 1 < n:
            e = text[i + 1]
            offs.append(i)
            if e in _ESC:
                out.append(_ESC[e])
                i += 2
            elif e == "x":
                m = re.match(r"[0-9a-fA-F]{1,2}", text[i + 2:])
                if m:
                    out.append(chr(int(m.group(0), 16)))
                else:  # `\x` without digits stays as written
                    out.extend("\\x")
                    offs.append(i + 1)
                i += 2 + (len(m.group(0)) if m else 0)
            elif e in "01234567":
                m = re.match(r"[0-7]{1,3}", text[i + 1:])
                assert m is not None
                out.append(chr(int(m.group(0), 8)))
                i += 1 + len(m.group(0))
            else:
                out.extend("\\" + e)
                offs.append(i + 1)
                i += 2
        else:
            out.append(text[i])
            offs.append(i)
            i += 1
    return i + 1
