"""YAML read as nodes, so every key and value keeps the line it came from.

Sidecars and doc-set manifests are hand-written; an error that says "line 14"
saves the author a search. PyYAML's composer keeps marks on nodes, the plain
`safe_load` throws them away, hence this thin layer.

Sidecars and manifests come from docs anyone can send, so the layer also bounds what a file can
cost: its size, its nesting depth (PyYAML composes and constructs recursively: 500 levels was a
RecursionError) and the number of nodes it stands for once aliases are expanded (an alias is
shared while composing, but every use of it is built again by the constructor and printed again by
`repr`: a 1 KB "billion laughs" took gigabytes). The limits are checked while composing, before
any value is built, and error messages quote values only as short cleaned excerpts (`excerpt`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from doctest_runner.model import DoctestError

# Limits for one YAML file (sidecar or manifest); real ones are a few KB, a few levels, a few
# hundred nodes. README "Running on untrusted docs > Limits" lists them.
MAX_YAML_BYTES = 1024 * 1024  # the file's text
MAX_DEPTH = 64  # nested mappings/lists
MAX_NODES = 50_000  # nodes as written (anchors counted once)
MAX_EXPANDED_NODES = 100_000  # nodes once every alias is expanded (what the constructor builds)
EXCERPT_CHARS = 60  # of a value quoted in an error message

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A value quoted for a one-line error message: `repr` of at most `limit` characters (repr
    escapes line breaks, control characters, U+2028 and lone surrogates), never of a whole value: a
    value may be a megabyte, or an alias that expands to millions of nodes."""
    if isinstance(value, Node):
        if not isinstance(value, ScalarNode):
            return "a mapping" if isinstance(value, MappingNode) else "a list"
        value = value.value
    if isinstance(value, (dict, list, tuple, set)):
        return f"a {type(value).__name__}"
    text = value if isinstance(value, str) else str(value)
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


class _LimitError(yaml.MarkedYAMLError):
    """A size limit was hit while composing (raised with the mark of the node that hit it)."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_text(node: ScalarNode) -> None:
    """A `"\\ud83d\\ude00"` escape pair becomes its character; a lone surrogate (`"\\ud800"`) is
    refused here: no file, command line, terminal or report could carry it as UTF-8."""
    value = node.value
    if not isinstance(value, str) or not _SURROGATE.search(value):
        return
    joined = value.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
    lone = _SURROGATE.search(joined)
    if lone:
        raise _LimitError(
            None, None, f"YAML text holds a lone surrogate ({lone.group(0)!r}), which is not valid Unicode text",
            node.start_mark,
        )
    node.value = joined


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader that refuses, while composing, documents over the depth and node limits.

    Expanded sizes are counted bottom-up per node (an alias adds the size of the node it names),
    so the count is exact and costs one integer per composed node, whatever the aliases do."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            mark = self.peek_event().start_mark
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:  # the alias names a node still being composed
                raise _LimitError(None, None, "a YAML alias refers to a node that contains it", mark)
            return node
        mark = self.peek_event().start_mark
        self._depth += 1
        self._nodes += 1
        if self._depth > MAX_DEPTH:
            raise _LimitError(None, None, f"YAML nested deeper than {MAX_DEPTH} levels", mark)
        if self._nodes > MAX_NODES:
            raise _LimitError(None, None, f"YAML has more than {MAX_NODES} nodes", mark)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if node is None:  # typed so by the stubs; a node event always composes a node
            return None
        if isinstance(node, SequenceNode):
            size = 1 + sum(self._sizes[id(child)] for child in node.value)
        elif isinstance(node, MappingNode):
            size = 1 + sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        else:
            size = 1
            if isinstance(node, ScalarNode):  # the only other kind
                _check_text(node)
        if size > MAX_EXPANDED_NODES:
            raise _LimitError(
                None, None, f"YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes", node.start_mark
            )
        self._sizes[id(node)] = size
        return node


class MultipleErrors(DoctestError):
    """Several errors from one file, reported together (the first one is the message).

    Authors fix a sidecar in one pass when they see every problem at once.
    """

    def __init__(self, errors: list[DoctestError]):
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first.message + more, first.path, first.line)
        self.errors = list(errors)


def raise_all(errors: list[DoctestError]) -> None:
    """Raise the collected errors as one exception (nothing if the list is empty)."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise MultipleErrors(errors)


def flatten(exc: DoctestError) -> list[DoctestError]:
    """The individual errors inside `exc` (itself if it is a single one)."""
    return list(exc.errors) if isinstance(exc, MultipleErrors) else [exc]


@dataclass
class YNode:
    """A YAML node plus the file it came from; every accessor reports errors at the node's line."""

    node: Node
    path: str

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def error(self, message: str) -> DoctestError:
        return DoctestError(message, self.path, self.line)

    @property
    def kind(self) -> str:
        if isinstance(self.node, MappingNode):
            return "mapping"
        if isinstance(self.node, SequenceNode):
            return "list"
        value = self.value()
        if value is None:
            return "null"
        return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(value), "value")

    def value(self) -> object:
        """The plain Python value (safe constructor: no tags that run code)."""
        try:
            return SafeConstructor().construct_object(self.node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            raise self.error(f"unsupported YAML value: {problem}") from None

    def is_mapping(self) -> bool:
        return isinstance(self.node, MappingNode)

    def is_list(self) -> bool:
        return isinstance(self.node, SequenceNode)

    def is_scalar(self) -> bool:
        return isinstance(self.node, ScalarNode)

    def items(self, what: str) -> list[tuple[str, int, YNode]]:
        """(key, key line, value) of a mapping, in file order; duplicate keys are errors."""
        if not isinstance(self.node, MappingNode):
            raise self.error(f"{what} must be a mapping, not a {self.kind}")
        out: list[tuple[str, int, YNode]] = []
        seen: dict[str, int] = {}
        for knode, vnode in self.node.value:
            key = YNode(knode, self.path)
            if not isinstance(knode, ScalarNode):
                raise key.error(f"{what}: keys must be plain names")
            name = str(key.value())
            if name in seen:
                raise key.error(f"duplicate key {excerpt(name)} in {what} (first at line {seen[name]})")
            seen[name] = key.line
            out.append((name, key.line, YNode(vnode, self.path)))
        return out

    def seq(self, what: str) -> list[YNode]:
        if not isinstance(self.node, SequenceNode):
            raise self.error(f"{what} must be a list, not a {self.kind}")
        return [YNode(n, self.path) for n in self.node.value]

    def text(self, what: str, *, allow_numbers: bool = False) -> str:
        value = self.value() if self.is_scalar() else None
        if isinstance(value, str) and value.strip() != "":
            return value
        if allow_numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise self.error(f"{what} must be a non-empty string, not a {self.kind}")

    def flag(self, what: str) -> bool:
        value = self.value() if self.is_scalar() else None
        if isinstance(value, bool):
            return value
        raise self.error(f"{what} must be true or false, not a {self.kind}")

    def integer(self, what: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.value() if self.is_scalar() else None
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):  # not isdigit(): '²', '--5'
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(f"{what} must be an integer, not a {self.kind}")
        if minimum is not None and value < minimum:
            raise self.error(f"{what} must be at least {minimum}, not {value}")
        if maximum is not None and value > maximum:
            raise self.error(f"{what} must be at most {maximum}, not {value}")
        return value

    def content_line(self) -> int:
        """First line of a scalar's text: block scalars (`|`, `>`) start on the line after the indicator."""
        if isinstance(self.node, ScalarNode) and self.node.style in ("|", ">"):
            return self.line + 1
        return self.line


def compose(text: str, path: str) -> YNode | None:
    """Parse YAML text into a node tree; syntax errors become a DoctestError at the problem's line,
    and so do files over the size, depth and alias-expansion limits (see the module doc)."""
    if len(text) > MAX_YAML_BYTES and len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise DoctestError(f"YAML file is larger than {MAX_YAML_BYTES // 1024} KiB", path)
    loader = None
    try:
        loader = _LimitedLoader(text)  # its reader already rejects unprintable characters
        node = loader.get_single_node()
    except _LimitError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise DoctestError(str(exc.problem), path, line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        line = mark.line + 1 if mark is not None else None
        raise DoctestError(f"invalid YAML: {_bounded(problem)}", path, line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        raise DoctestError(f"invalid YAML: character #x{exc.character:04x} is not allowed", path, line) from None
    except yaml.YAMLError as exc:
        raise DoctestError(f"invalid YAML: {_bounded(str(exc))}", path) from None
    except RecursionError:  # cannot happen under MAX_DEPTH; kept so no input ends in a traceback
        raise DoctestError(f"YAML nested deeper than {MAX_DEPTH} levels", path) from None
    finally:
        if loader is not None:
            loader.dispose()
    return None if node is None else YNode(node, path)


def _bounded(message: str, limit: int = 200) -> str:
    """PyYAML's own messages quote the offending text (`found undefined alias 'x'`): keep them to
    one short line."""
    one = _UNPRINTABLE.sub(lambda m: m.group(0).encode("unicode_escape", "backslashreplace").decode("ascii"),
                           message[:limit])
    return one + ("…" if len(message) > limit else "")


def unknown_key(key: str, line: int, path: str, what: str, allowed: Iterable[str]) -> DoctestError:
    """An unknown-key error that suggests the nearest allowed key (typos are the usual cause)."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(key[:100], allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(allowed)}"
    return DoctestError(f"unknown key {excerpt(key)} in {what}{hint}", path, line)
