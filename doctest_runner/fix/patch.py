"""Put a candidate's edits back into the Markdown with the doc's own formatting, and write them as a unified diff
that `git apply` takes.

An edit says what the parser should read after the change (prompts and list indentation stripped). Each replaced
line keeps what stood before its text in the file — list or quote indentation, tabs, the prompt (`$ `, `# `,
`user@host:~$ `), a PS2 `> ` — and its own line ending (CRLF files stay CRLF). A new line of a command takes the
continuation lines' prefix (or the block's indentation); inserted steps copy the prompt of the step they precede,
so they become steps of the same block. If the file no longer holds the text the run read, the edit is refused
with `path:line: message` instead of patching the wrong line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from doctest_runner.model import DoctestError
from doctest_runner.parse import parse_text

from .model import Candidate, Edit
from .verify import apply_to_steps

__all__ = ["apply_edits", "check_patched", "read_source", "suggestion", "unified_diff"]

_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+$")
_CONTAINER_RE = re.compile(r"^[ \t>]*")
OUTPUT_SEARCH = 50  # lines after the command where its documented output may start


@dataclass
class _Line:
    body: str
    eol: str  # "\n", "\r\n" or "" (the file's last line without a newline)


def read_source(path: str) -> str:
    """A doc's text as in the file: line endings and a BOM kept (the patch must reproduce them)."""
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DoctestError(f"cannot read the doc to patch it: {exc}", path) from None


def _split(text: str) -> list[_Line]:
    out = []
    for raw in _LINE_RE.findall(text):
        eol = "\r\n" if raw.endswith("\r\n") else "\n" if raw.endswith("\n") else ""
        out.append(_Line(raw[: len(raw) - len(eol)], eol))
    return out


def _body(line: _Line, number: int) -> str:
    return line.body.removeprefix("\ufeff") if number == 1 else line.body


def _prefix(raw: str, text: str) -> str | None:
    """What stands before `text` on the raw line (indentation, prompt), or None when the line does not end so."""
    if raw.rstrip().endswith(text.rstrip()) and text.strip():
        return raw[: len(raw.rstrip()) - len(text.rstrip())]
    if not text.strip() and not raw.strip(" \t>"):
        return raw
    return None


def _container(prefix: str) -> str:
    """The list/quote indentation part of a prefix (the prompt after it dropped)."""
    m = _CONTAINER_RE.match(prefix)
    assert m is not None
    return m.group(0)


def _locate(edit: Edit, lines: list[_Line]) -> tuple[int, list[str]]:
    """The 1-based line where the edit's old text stands, and each old line's prefix."""
    wanted = edit.old if not edit.is_insertion else (edit.anchor,)
    last = edit.line + (OUTPUT_SEARCH if edit.role == "output" else 0)
    for start in range(edit.line, last + 1):
        if start + len(wanted) - 1 > len(lines):
            break
        prefixes = [_prefix(_body(lines[start + k - 1], start + k), text) for k, text in enumerate(wanted)]
        if all(p is not None for p in prefixes):
            return start, [p or "" for p in prefixes]
    shown = (wanted[0] if wanted else "").strip()[:60]
    if edit.role == "output":
        raise DoctestError(f"the documented output (`{shown}`) is not on consecutive lines after the command "
                           "(the doc changed, or lines in it are not output)", edit.path, edit.line)
    raise DoctestError(f"the doc does not hold `{shown}` on this line (it changed since the run, or the command "
                       "is not written on its own lines)", edit.path, edit.line)


def _render(edit: Edit, prefixes: list[str]) -> list[str]:
    """The new physical lines (without line endings)."""
    first = prefixes[0]
    if edit.role == "output":
        base = next((p for p, t in zip(prefixes, edit.old) if t.strip()), _container(first))
        base = _container(base) if base.strip(" \t>") else base
        return [(base + text) if text else base.rstrip(" \t") for text in edit.new]
    cont = prefixes[1] if len(prefixes) > 1 and not edit.is_insertion else _container(first)
    out: list[str] = []
    if edit.is_insertion:
        for command in edit.new:
            parts = command.split("\n")
            out.append(first + parts[0])
            out.extend(cont + p for p in parts[1:])
        return out
    for k, text in enumerate(edit.new):
        pre = first if k == 0 else prefixes[k] if k < len(prefixes) else cont
        out.append(pre + text if text else pre.rstrip(" \t"))
    return out


def apply_edits(source: str, edits: Sequence[Edit], path: str) -> str:
    """`source` with every edit applied; DoctestError (`path:line`) when edits overlap or the doc changed."""
    lines = _split(source)
    placed: list[tuple[int, int, list[_Line]]] = []  # (first index, count replaced, new lines)
    for edit in edits:
        start, prefixes = _locate(edit, lines)
        count = 0 if edit.is_insertion else len(edit.old)
        ref = lines[start - 1]
        eol = ref.eol or next((ln.eol for ln in reversed(lines) if ln.eol), "\n")
        new = [_Line(body, eol) for body in _render(edit, prefixes)]
        if count and not lines[start + count - 2].eol and new:
            new[-1] = _Line(new[-1].body, "")  # the file's last line had no newline: keep it so
        placed.append((start - 1, count, new))
    placed.sort(key=lambda p: (p[0], p[1]))
    for (a, n, _), (b, _m, _) in zip(placed, placed[1:]):
        if b < a + n or (b == a and n == 0 and _m == 0):
            raise DoctestError("two edits of one fix touch the same line", path, b + 1)
    for first, count, new in reversed(placed):
        lines[first: first + count] = new
    return "".join(ln.body + ln.eol for ln in lines)


def check_patched(source: str, patched: str, path: str, candidate: Candidate) -> None:
    """Refuse (DoctestError) a patched doc that the parser does not read as the step list the candidate was run
    with: an inserted line can change how a block is read (a `> ` prompt before an assignment stops being a
    prompt), and then what was verified is not what the patch gives."""
    before = parse_text(source, path).steps
    if not any(s.id == candidate.step_id for s in before):
        raise DoctestError(f"the doc has no step {candidate.step_id} any more; it changed since the run", path)
    want = [(s.command, s.expected_output) for s in apply_to_steps(before, candidate)]
    got = [(s.command, s.expected_output) for s in parse_text(patched, path).steps]
    if want != got:
        at = next((k for k, (w, g) in enumerate(zip(want, got)) if w != g), min(len(want), len(got)))
        steps = parse_text(patched, path).steps
        line = steps[at].line if at < len(steps) else None
        raise DoctestError("the patched doc would not run the steps the fix was verified with", path, line)


def suggestion(source: str, edit: Edit) -> tuple[int, int, list[str]]:
    """What a review tool's suggestion for one edit holds: the doc lines it replaces (first, last, 1-based) and
    their new text, formatted as the file is. An insertion suggests its new lines followed by the line they go
    before, since a suggestion can only replace lines."""
    lines = _split(source)
    start, prefixes = _locate(edit, lines)
    new = _render(edit, prefixes)
    if edit.is_insertion:
        return start, start, [*new, lines[start - 1].body]
    return start, start + len(edit.old) - 1, new


def _range(start: int, length: int) -> str:
    first = start + 1 if length else start
    return f"{first}" if length == 1 else f"{first},{length}"


def unified_diff(old: str, new: str, path: str, context: int = 3) -> str:
    """A `git apply`-able diff of one file, `a/<path>` -> `b/<path>`; '' when nothing changed.

    Written here rather than by `difflib.unified_diff` because that one cannot mark a last line without a newline
    (`\\ No newline at end of file`), which git needs to apply a patch to such a file."""
    a = [ln.body + ln.eol for ln in _split(old)]
    b = [ln.body + ln.eol for ln in _split(new)]
    if a == b:
        return ""
    out = [f"diff --git a/{path} b/{path}\n", f"--- a/{path}\n", f"+++ b/{path}\n"]

    def emit(mark: str, line: str) -> None:
        out.append(mark + line if line.endswith("\n") else mark + line + "\n\\ No newline at end of file\n")

    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        out.append(f"@@ -{_range(i1, i2 - i1)} +{_range(j1, j2 - j1)} @@\n")
        for tag, x1, x2, y1, y2 in group:
            if tag == "equal":
                for line in a[x1:x2]:
                    emit(" ", line)
                continue
            for line in a[x1:x2]:
                emit("-", line)
            for line in b[y1:y2]:
                emit("+", line)
    return "".join(out)
