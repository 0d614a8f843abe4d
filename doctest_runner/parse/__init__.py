"""Markdown guide -> ordered steps, each pointing at its exact source lines.

    from doctest_runner.parse import parse_file, parse_text
    doc = parse_file("docs/install.md")          # DoctestError only if the file is unreadable
    doc = parse_text(markdown, "docs/install.md")  # never raises

Pipeline: mkdocs tabs/admonitions are unwrapped line for line (`containers`), site-generator
shortcodes (`{{< highlight bash >}}`, `{% highlight %}`, MyST `:::`) become fences (`shortcodes`), mistune parses the
blocks with positions (`markdown`), annotations and hidden setup/cleanup blocks are read from
`<!-- doctest: ... -->` comments (`annotations`), each code block becomes steps (`steps`, using
bash's parser via `doctest_runner.shell`; prompts decided per block in `prompts`, and whether a line is a command,
prose or output in `commands`), and imperative prose without a command is collected (`prose`).
Non-fatal problems (unterminated fence, bad annotation) go to `ParsedDoc.errors` with file:line.
"""

from __future__ import annotations

import os
import re
import stat

from doctest_runner.model import Block, DoctestError, ParsedDoc, Step

from .annotations import Annotation, parse_annotation
from .containers import Container, innermost, preprocess
from .info import parse_info
from .markdown import Element, parse_blocks
from .prose import find_prose
from .shortcodes import convert_shortcodes
from .steps import GUEST_REASON, OUTPUT_WHY, assign_ids, block_steps, prefetch_blocks

# lint quotes the two reasons the parser gives for a step it did not run as written
__all__ = ["GUEST_REASON", "OUTPUT_WHY", "parse_file", "parse_text"]

_BLANKISH = re.compile(r"^[\s>]*$")
MAX_DOC_BYTES = 64 * 1024 * 1024
# Code blocks whose prompted commands are sent to bash together (bounded, so verdicts stay cached
# until they are used even in a huge doc).
_PREFETCH_BLOCKS = 400


def parse_file(path: str | os.PathLike[str], display_path: str | None = None) -> ParsedDoc:
    """Parse one Markdown file.

    Raises DoctestError only when the file cannot be read as a doc at all: missing, a directory,
    binary (NUL bytes) or not UTF-8 (naming the line of the first bad byte).
    """
    shown = display_path if display_path is not None else os.fspath(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise DoctestError("is a directory, not a Markdown file", shown)
        if not stat.S_ISREG(info.st_mode):
            raise DoctestError("not a regular file", shown)  # a FIFO or device would never end
        if info.st_size > MAX_DOC_BYTES:
            raise DoctestError(f"too large for a Markdown doc ({info.st_size // (1024 * 1024)} MiB)", shown)
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise DoctestError("no such file", shown) from None
    except PermissionError:
        raise DoctestError("cannot read file: permission denied", shown) from None
    except IsADirectoryError:
        raise DoctestError("is a directory, not a Markdown file", shown) from None
    except NotADirectoryError:
        raise DoctestError("no such file (a parent is not a directory)", shown) from None
    except OSError as exc:
        raise DoctestError(f"cannot read file: {exc.strerror or exc}", shown) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise DoctestError("binary file (NUL byte), not a Markdown doc", shown, line)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start]
        raise DoctestError(f"not valid UTF-8 (byte 0x{bad:02x} at column {col})", shown, line) from None
    return parse_text(text, shown)


def parse_text(text: str, path: str) -> ParsedDoc:
    """Parse Markdown text; never raises (problems go to `.errors`)."""
    try:
        return _parse(text, path)
    except Exception as exc:  # noqa: BLE001 - the contract: bad input is an error entry, never a traceback
        return ParsedDoc(
            path=path,
            steps=[],
            errors=[DoctestError(f"internal parser error: {type(exc).__name__}: {exc}", path, None)],
        )


def _parse(text: str, path: str) -> ParsedDoc:
    text = text.removeprefix("\ufeff")
    text = text.replace("\r\n", "\n")
    raw_lines = text.split("\n")
    lines, containers = preprocess(raw_lines)
    lines, shortcode_fences = convert_shortcodes(lines)
    elements = parse_blocks("\n".join(lines))
    code_at = [k for k, el in enumerate(elements) if el.kind == "code"]
    prefetched = 0  # code elements whose commands bash has already judged, in one batch

    doc = ParsedDoc(path=path, steps=[], source=text)
    stack: list[tuple[int, str]] = []
    heading: tuple[str, ...] = ()
    heading_at: dict[int, tuple[str, ...]] = {}
    pending: Annotation | None = None
    intro: str | None = None  # the paragraph right before the next code block ("Example output:")
    guests: set[str] = set()  # prompts shown as a guest shell's so far (`bash-5.0#` after `virtctl guestfs`)

    def orphan(ann: Annotation) -> None:
        doc.errors.append(DoctestError("doctest annotation is not followed by a code block", path, ann.line))

    for idx, el in enumerate(elements):
        if el.kind == "heading":
            while stack and stack[-1][0] >= el.level:
                stack.pop()
            stack.append((el.level, el.text))
            heading = tuple(t for _, t in stack)
            doc.headings.append((el.line, heading))
        heading_at[idx] = heading

        if el.kind == "html":
            ann = parse_annotation(el.text, el.line, path)
            if ann is None:
                continue
            doc.errors.extend(ann.errors)
            if pending is not None:
                orphan(pending)
                pending = None
            if ann.hidden:
                _hidden_steps(doc, ann, heading, containers, path)
            else:
                pending = ann
            continue

        if el.kind != "code":
            if pending is not None and el.kind in ("heading", "para"):
                orphan(pending)
                pending = None
            intro = el.text if el.kind == "para" else None
            continue

        if prefetched < len(code_at) and code_at[prefetched] <= idx:
            chunk = code_at[prefetched: prefetched + _PREFETCH_BLOCKS]
            prefetch_blocks([elements[k].text for k in chunk])
            prefetched += len(chunk)

        ann = None
        if pending is not None:
            if _only_blank_between(lines, pending.end_line, el.line):
                ann = pending
            else:
                orphan(pending)
            pending = None
        block = _make_block(el, path, heading, containers, ann, el.line in shortcode_fences)
        doc.blocks.append(block)
        if not el.closed:
            doc.errors.append(
                DoctestError(f"unterminated code fence: {el.marker or '```'} opened here is never closed",
                             path, el.line)
            )
        doc.steps.extend(
            block_steps(
                block,
                file_path=ann.file if ann else None,
                run=ann.run if ann else False,
                closed=el.closed,
                intro=intro,
                guests=guests,
            )
        )
        intro = None
    if pending is not None:
        orphan(pending)

    doc.prose = find_prose(elements, path, heading_at, containers)
    doc.errors.sort(key=lambda e: (e.line or 0))
    assign_ids(doc.steps)
    return doc


def _only_blank_between(lines: list[str], after: int, before: int) -> bool:
    """Only blank lines (or bare `>` quote markers) between doc lines `after` and `before`."""
    return all(_BLANKISH.match(lines[k - 1]) for k in range(after + 1, before) if 0 < k <= len(lines))


def _make_block(
    el: Element, path: str, heading: tuple[str, ...], containers: list[Container], ann: Annotation | None,
    shortcode: bool = False,
) -> Block:
    fenced = el.style == "fenced"
    text = el.text
    if fenced and text.endswith("\n"):
        text = text[:-1]
    lang, attrs = parse_info(el.info) if fenced else ("", {})
    content_line = el.line + 1 if fenced else el.line
    if attrs.get("directive"):
        skipped, text = _myst_options(text)
        content_line += skipped
    tab = innermost(containers, el.line, "tab")
    return Block(
        path=path,
        line=el.line,
        end_line=el.end_line,
        content_line=content_line,
        info=el.info,
        lang=lang,
        attrs=attrs,
        text=text,
        heading=heading,
        tab=tab.title if tab else None,
        annotation=ann.options if ann else None,
        kind="shortcode" if shortcode else "fenced" if fenced else "indented",
    )


_MYST_OPTION_RE = re.compile(r"^:[\w-]+:(?:[ \t].*)?$")


def _myst_options(text: str) -> tuple[int, str]:
    """Drop a MyST directive's option lines (`:caption: x`, or a `---` YAML block) from the top of
    its body: they configure the rendering, they are not content. Returns (lines dropped, text)."""
    lines = text.split("\n")
    k = 0
    if lines and lines[0].strip() == "---":
        end = next((j for j in range(1, len(lines)) if lines[j].strip() == "---"), None)
        if end is not None:
            k = end + 1
    else:
        while k < len(lines) and _MYST_OPTION_RE.match(lines[k]):
            k += 1
    if k and k < len(lines) and not lines[k].strip():
        k += 1  # the blank line that ends the options
    return k, "\n".join(lines[k:])


def _hidden_steps(
    doc: ParsedDoc, ann: Annotation, heading: tuple[str, ...], containers: list[Container], path: str
) -> None:
    kind = "setup" if ann.hidden == "setup" else "cleanup"
    for hb in ann.blocks:
        lang, attrs = parse_info(hb.info)
        tab = innermost(containers, hb.line, "tab")
        block = Block(
            path=path,
            line=hb.line,
            end_line=hb.end_line,
            content_line=hb.content_line,
            info=hb.info,
            lang=lang or "bash",
            attrs=attrs,
            text=hb.text,
            heading=heading,
            tab=tab.title if tab else None,
            annotation=ann.options,
            kind="hidden-setup" if kind == "setup" else "hidden-cleanup",
        )
        doc.blocks.append(block)
        steps: list[Step] = block_steps(block, file_path=ann.file, run=True, step_kind=kind)
        doc.steps.extend(steps)
