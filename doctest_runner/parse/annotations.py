"""In-doc annotations: ``<!-- doctest: key=value ... -->`` right before a code block.

Keys (several per comment, values may be quoted):
  skip, reason="...", timeout=900 (seconds; 90s/15m/1h accepted), expect-exit=N, user=root,
  requires=kvm,network, name=..., reboot, output=check|ignore|warn, pty, file=PATH, run, platform=any|NAME
(`run` asks for a block in a non-shell language, or an unlabelled one, to be run as shell).

A comment whose first word is ``setup`` or ``cleanup`` holds a hidden block instead:

    <!-- doctest: setup user=root
    ```bash
    sudo apt-get update
    ```
    -->

Problems (unknown key, bad value) become DoctestErrors with file:line; the rest still applies.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from doctest_runner.model import DoctestError, StepOptions

_COMMENT_RE = re.compile(r"^\s*<!--\s*doctest\s*:(?P<body>.*?)-->", re.DOTALL)
_OPEN_RE = re.compile(r"^\s*<!--\s*doctest\s*:", re.DOTALL)
_USER_RE = re.compile(r"^[a-z_][a-z0-9_.-]*\$?$")
_REQ_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_DURATION_RE = re.compile(r"^(\d+)([smh]?)$")
_FENCE_RE = re.compile(r"^(?P<indent>[ ]*)(?P<marker>`{3,}|~{3,})(?P<info>.*)$")

KNOWN_KEYS = (
    "skip", "reason", "timeout", "expect-exit", "user", "requires", "name", "reboot", "output", "pty",
    "file", "run", "platform",
)
_FLAGS = {"skip", "reboot", "pty", "run"}
_TRUE = {"", "true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass
class HiddenBlock:
    """A fenced block inside a setup/cleanup comment, with exact lines."""

    line: int  # fence line (or first content line when unfenced)
    end_line: int
    content_line: int
    info: str
    text: str


@dataclass
class Annotation:
    line: int  # first line of the comment
    end_line: int  # last line of the comment
    options: StepOptions
    file: str | None = None
    run: bool = False
    hidden: str | None = None  # "setup" | "cleanup"
    blocks: list[HiddenBlock] = field(default_factory=list)
    errors: list[DoctestError] = field(default_factory=list)


def is_doctest_comment(raw: str) -> bool:
    return _OPEN_RE.match(raw) is not None


def parse_annotation(raw: str, line: int, path: str) -> Annotation | None:
    """Parse an HTML block starting at `line`; None when it is not a doctest comment."""
    if not is_doctest_comment(raw):
        return None
    raw_lines = raw.rstrip("\n").split("\n")
    end_line = line + len(raw_lines) - 1
    m = _COMMENT_RE.match(raw)
    body = m.group("body") if m else raw.split(":", 1)[1]
    ann = Annotation(line=line, end_line=end_line, options=StepOptions())
    if m is None:
        ann.errors.append(DoctestError("doctest comment is not closed with -->", path, line))
    # The header is the comment's first line; hidden blocks put their code on the lines after it.
    first_body_line, _, after = body.partition("\n")
    words_probe = first_body_line.split()
    if words_probe and words_probe[0] in ("setup", "cleanup"):
        ann.hidden = words_probe[0]
        header = first_body_line.split(None, 1)[1] if len(words_probe) > 1 else ""
        _apply_keys(header, ann, path, line)
        ann.blocks = _hidden_blocks(after, line + 1, path, ann)
        if not ann.blocks:
            ann.errors.append(DoctestError(f"hidden {ann.hidden} block has no code in it", path, line))
        return ann
    _apply_keys(body, ann, path, line, raw_lines)
    return ann


def _apply_keys(text: str, ann: Annotation, path: str, line: int, raw_lines: list[str] | None = None) -> None:
    try:
        words = shlex.split(text, comments=False, posix=True)
    except ValueError as exc:
        ann.errors.append(DoctestError(f"bad doctest annotation: {exc}", path, line))
        return
    opts = ann.options
    for word in words:
        key, eq, value = word.partition("=")
        key = key.strip().lower()
        where = _line_of(word, key, raw_lines, line)
        if key not in KNOWN_KEYS:
            hint = "setup/cleanup must be the first word" if key in ("setup", "cleanup") else (
                "known keys: " + ", ".join(KNOWN_KEYS))
            ann.errors.append(DoctestError(f"unknown doctest annotation key '{key}' ({hint})", path, where))
            continue
        if key in _FLAGS:
            flag = value.strip().lower()
            if flag in _TRUE:
                on = True
            elif flag in _FALSE:
                on = False
            else:
                ann.errors.append(DoctestError(f"'{key}' takes no value or true/false, not '{value}'", path, where))
                continue
            if key == "skip":
                opts.skip = on
            elif key == "reboot":
                opts.reboot = on
            elif key == "pty":
                opts.pty = on
            else:
                ann.run = on
            continue
        if not eq:
            ann.errors.append(DoctestError(f"'{key}' needs a value ({key}=...)", path, where))
            continue
        err = _set_value(opts, ann, key, value)
        if err:
            ann.errors.append(DoctestError(err, path, where))


def _set_value(opts: StepOptions, ann: Annotation, key: str, value: str) -> str | None:
    """Apply one key=value; return an error message or None."""
    if key == "reason":
        opts.reason = value
        return None
    if key == "timeout":
        m = _DURATION_RE.match(value.strip())
        if not m or int(m.group(1)) <= 0:
            return f"timeout must be a positive number of seconds (e.g. 900, 15m), not '{value}'"
        opts.timeout = int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
        return None
    if key == "expect-exit":
        if not re.fullmatch(r"\d{1,3}", value.strip()) or int(value) > 255:
            return f"expect-exit must be an exit status 0-255, not '{value}'"
        opts.expect_exit = int(value)
        return None
    if key == "user":
        if not _USER_RE.match(value):
            return f"user must be a user name, not '{value}'"
        opts.user = value
        return None
    if key == "requires":
        items = tuple(v.strip() for v in value.split(",") if v.strip())
        if not items or not all(_REQ_RE.match(v) for v in items):
            return f"requires must be a comma-separated list such as kvm,network, not '{value}'"
        opts.requires = items
        return None
    if key == "name":
        if not value.strip():
            return "name must not be empty"
        opts.name = value
        return None
    if key == "output":
        if value not in ("check", "ignore", "warn"):
            return f"output must be check, ignore or warn, not '{value}'"
        opts.output = value  # type: ignore[assignment]
        return None
    if key == "platform":  # `any`, or the platform the step is for; plan/platform.py reads it
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+/ -]*", value.strip()):
            return f"platform must be any or a platform name such as macos or fedora, not '{value}'"
        opts.platform = value.strip()
        return None
    if key == "file":
        if not value.strip() or any(c.isspace() for c in value):
            return f"file must be a path without spaces, not '{value}'"
        ann.file = value
        return None
    return f"unknown doctest annotation key '{key}'"  # pragma: no cover - guarded by KNOWN_KEYS


def _line_of(word: str, key: str, raw_lines: list[str] | None, line: int) -> int:
    """The doc line of a key inside a multi-line comment (the comment line otherwise)."""
    if raw_lines:
        for i, text in enumerate(raw_lines):
            if re.search(r"(^|[\s:])" + re.escape(key) + r"(=|\s|$|-->)", text):
                return line + i
    return line


def _hidden_blocks(text: str, first_line: int, path: str, ann: Annotation) -> list[HiddenBlock]:
    """Fenced blocks in the body of a setup/cleanup comment (unfenced text: one bash block)."""
    lines = text.split("\n")
    # drop what follows the closing -->
    for i, ln in enumerate(lines):
        if "-->" in ln:
            lines = lines[:i] + ([ln.split("-->", 1)[0]] if ln.split("-->", 1)[0].strip() else [])
            break
    while lines and not lines[-1].strip():  # the comment's own line ending, or blank lines
        lines.pop()
    blocks: list[HiddenBlock] = []
    i = 0
    saw_fence = False
    while i < len(lines):
        m = _FENCE_RE.match(lines[i])
        if not m or (m.group("marker")[0] == "`" and "`" in m.group("info")):
            i += 1
            continue
        saw_fence = True
        indent = len(m.group("indent"))
        ch, size = m.group("marker")[0], len(m.group("marker"))
        j = i + 1
        body: list[str] = []
        closed = False
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped and set(stripped) == {ch} and len(stripped) >= size:
                closed = True
                break
            body.append(_strip_upto(lines[j], indent))
            j += 1
        if not closed:
            ann.errors.append(DoctestError("unterminated code fence in hidden block", path, first_line + i))
        end = first_line + (j if closed else j - 1)
        blocks.append(HiddenBlock(first_line + i, end, first_line + i + 1, m.group("info").strip(), "\n".join(body)))
        i = j + 1
    if not saw_fence:
        content = [(k, ln) for k, ln in enumerate(lines) if ln.strip()]
        if content:
            a, b = content[0][0], content[-1][0]
            body = lines[a:b + 1]
            blocks.append(HiddenBlock(first_line + a, first_line + b, first_line + a, "bash", "\n".join(body)))
    return blocks


def _strip_upto(line: str, n: int) -> str:
    k = 0
    while k < n and k < len(line) and line[k] == " ":
        k += 1
    return line[k:]
