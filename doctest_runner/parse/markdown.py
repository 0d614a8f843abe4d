"""mistune 3 block parsing with exact source lines.

mistune gives no positions, and it parses list items and block quotes from *copies* of their text
(markers and indentation stripped). Both copies keep one line per source line, so a child state
only needs the source line its text starts at. This module hooks three places to learn it:

* ``parse_method`` (every block rule) records the line of each new token and its last line;
* ``parse_block_quote``/``parse_list`` tell the state where the child text of the quote or of
  each list item starts, and ``child_state`` hands that to the child;
* ``add_paragraph`` stamps paragraphs (they are not created by a block rule).

Only the block level is parsed (no inline rendering): that is all the step extractor needs, and it
keeps the whole Kata snapshot well under the time budget.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from mistune.block_parser import BlockParser
from mistune.core import BlockState
from mistune.list_parser import LIST_PATTERN

_LIST_RE = re.compile(LIST_PATTERN, re.MULTILINE)
_NEWLINE_RE = re.compile("\n")


class _State(BlockState):
    """A BlockState that knows the source line of its first character."""

    def __init__(self, parent: Any | None = None) -> None:
        super().__init__(parent)
        self.line0 = 0  # 0-based source line of src[0]
        self._newlines: list[int] | None = None
        # ("quote" | "list", 0-based source line where the next child's text starts)
        self.container: list[Any] | None = None

    def line_at(self, pos: int) -> int:
        """0-based source line of position `pos` in this state's text."""
        if self._newlines is None:
            self._newlines = [m.start() for m in _NEWLINE_RE.finditer(self.src)]
        return self.line0 + bisect_left(self._newlines, pos)

    def child_state(self, src: str, lazy_line_starts: set[int] | None = None) -> _State:
        child = super().child_state(src, lazy_line_starts)
        assert isinstance(child, _State)
        cont = self.container
        if cont is None:  # not created by a container we know: best effort, keep numbering
            child.line0 = self.line_at(self.cursor)
            return child
        kind, start = cont
        if kind == "quote":
            child.line0 = start
        else:
            # A list item's text starts on its marker line, unless nothing follows the marker.
            marker_line = self._local_line(start)
            m = _LIST_RE.match(marker_line)
            child.line0 = start + 1 if (m and not m.group("list_3").strip()) else start
            # If another item follows, the parent cursor sits just past its marker line.
            cont[1] = self.line_at(self.cursor) - 1
        return child

    def _local_line(self, line: int) -> str:
        """Text of 0-based source line `line` as seen in this state's src."""
        if self._newlines is None:
            self.line_at(0)
        assert self._newlines is not None
        idx = line - self.line0
        if idx < 0 or idx > len(self._newlines):
            return ""
        start = 0 if idx == 0 else self._newlines[idx - 1] + 1
        end = self._newlines[idx] if idx < len(self._newlines) else len(self.src)
        return self.src[start:end]

    def add_paragraph(self, text: str) -> None:
        last = self.last_token()
        if last and last["type"] == "paragraph":
            last["text"] += text
            last["_end"] = self.line_at(self.cursor + len(text.rstrip("\n")))
        else:
            self.tokens.append(
                {
                    "type": "paragraph",
                    "text": text,
                    "_line": self.line_at(self.cursor),
                    "_end": self.line_at(self.cursor + len(text.rstrip("\n"))),
                }
            )


_STAMPED = {"block_code", "heading", "block_html", "thematic_break"}


class _Parser(BlockParser):
    state_cls = _State

    def parse_method(self, m: re.Match[str], state: BlockState) -> Any:
        assert isinstance(state, _State)
        n = len(state.tokens)
        start = m.start()
        end = super().parse_method(m, state)
        if end:
            for tok in state.tokens[n:]:
                if tok["type"] in _STAMPED and "_line" not in tok:
                    tok["_line"] = state.line_at(start)
                    tok["_end"] = state.line_at(max(start, end - 1))
                    if tok["type"] == "block_code" and tok.get("style") == "fenced":
                        tok["_closed"] = _fence_closed(state, tok, end)
        return end

    def _parse_indent_code_fast(self, state: BlockState) -> int | None:
        assert isinstance(state, _State)
        n = len(state.tokens)
        start = state.cursor
        end = super()._parse_indent_code_fast(state)
        if end is not None and len(state.tokens) > n:
            tok = state.tokens[-1]
            if tok["type"] == "block_code" and "_line" not in tok:
                tok["_line"] = state.line_at(start)
                tok["_end"] = tok["_line"] + tok["raw"].count("\n")
        return end

    def parse_block_quote(self, m: re.Match[str], state: BlockState) -> int:
        assert isinstance(state, _State)
        saved = state.container
        state.container = ["quote", state.line_at(state.cursor)]
        try:
            return super().parse_block_quote(m, state)
        finally:
            state.container = saved

    def parse_list(self, m: re.Match[str], state: BlockState) -> int:
        assert isinstance(state, _State)
        saved = state.container
        state.container = ["list", state.line_at(m.start())]
        try:
            return super().parse_list(m, state)
        finally:
            state.container = saved


def _fence_closed(state: _State, tok: dict[str, Any], end: int) -> bool:
    """Did the fence find its closing line (mistune silently runs to the end otherwise)?"""
    last = state._local_line(tok["_end"])
    marker = tok.get("marker", "```")
    if tok["_end"] == tok["_line"]:
        return False
    closing = re.match(r"^ {0,3}" + re.escape(marker[0]) + "{" + str(len(marker)) + r",}[ \t]*$", last)
    return closing is not None


# ---------------------------------------------------------------------------- elements


@dataclass
class Element:
    """One thing the step extractor cares about, in document order, with 1-based lines."""

    kind: str  # "heading" | "code" | "html" | "para" | "item"
    line: int
    end_line: int
    text: str = ""
    level: int = 0  # heading level
    info: str = ""  # code: raw info string
    style: str = ""  # code: "fenced" | "indent"
    closed: bool = True  # code: fence has a closing line
    in_quote: bool = False
    in_item: bool = False
    first_in_item: bool = False  # para: the first paragraph of a list item
    marker: str = ""
    depth: int = 0  # list-item nesting depth (0: not in a list item)


def parse_blocks(src: str) -> list[Element]:
    """Block-level parse of `src`; returns elements in order with exact 1-based lines."""
    if not src.endswith("\n"):
        src += "\n"
    parser = _Parser()
    state = _State()
    state.process(src)
    parser.parse(state)
    out: list[Element] = []
    _flatten(state.tokens, out, in_quote=False, depth=0)
    return out


def _flatten(tokens: list[dict[str, Any]], out: list[Element], in_quote: bool, depth: int) -> None:
    in_item = depth > 0
    first_para_pending = in_item
    for tok in tokens:
        typ = tok["type"]
        if typ in ("paragraph", "block_text") and "_line" in tok:
            out.append(
                Element(
                    "para",
                    tok["_line"] + 1,
                    tok.get("_end", tok["_line"]) + 1,
                    text=tok["text"],
                    in_quote=in_quote,
                    in_item=in_item,
                    first_in_item=first_para_pending,
                    depth=depth,
                )
            )
            first_para_pending = False
        elif typ == "heading" and "_line" in tok:
            text = tok["text"].strip()
            out.append(
                Element("heading", tok["_line"] + 1, tok.get("_end", tok["_line"]) + 1, text=text,
                        level=tok["attrs"]["level"], in_quote=in_quote, in_item=in_item, depth=depth)
            )
            first_para_pending = False
        elif typ == "block_code" and "_line" in tok:
            info = (tok.get("attrs") or {}).get("info", "")
            out.append(
                Element(
                    "code",
                    tok["_line"] + 1,
                    tok["_end"] + 1,
                    text=tok["raw"],
                    info=info,
                    style=tok.get("style", "fenced"),
                    closed=tok.get("_closed", True),
                    in_quote=in_quote,
                    in_item=in_item,
                    marker=tok.get("marker", ""),
                    depth=depth,
                )
            )
            first_para_pending = False
        elif typ == "block_html" and "_line" in tok:
            out.append(Element("html", tok["_line"] + 1, tok["_end"] + 1, text=tok["raw"],
                               in_quote=in_quote, in_item=in_item, depth=depth))
        elif typ == "block_quote":
            _flatten(tok["children"], out, in_quote=True, depth=depth)
            first_para_pending = False
        elif typ == "list":
            for item in tok["children"]:
                children = item.get("children", [])
                line = _first_line(children)
                if line is not None:
                    out.append(Element("item", line + 1, line + 1, in_quote=in_quote, in_item=True,
                                       depth=depth + 1))
                _flatten(children, out, in_quote=in_quote, depth=depth + 1)
            first_para_pending = False
        elif typ == "blank_line":
            continue
        else:
            first_para_pending = False


def _first_line(tokens: list[dict[str, Any]]) -> int | None:
    for tok in tokens:
        if "_line" in tok:
            return int(tok["_line"])
        if tok.get("children"):
            inner = _first_line(tok["children"])
            if inner is not None:
                return inner
    return None
