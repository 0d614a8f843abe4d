"""YAML read as nodes, so every key and value keeps the line it came from.

Sidecars and doc-set manifests are hand-written; an error that says "line 14"
saves the author a search. PyYAML's composer keeps marks on nodes, the plain
`safe_load` throws them away, hence this thin layer.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from doctest_runner.model import DoctestError


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
                raise key.error(f"duplicate key {name!r} in {what} (first at line {seen[name]})")
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
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
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
    """Parse YAML text into a node tree; syntax errors become a DoctestError at the problem's line."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        line = mark.line + 1 if mark is not None else None
        raise DoctestError(f"invalid YAML: {problem}", path, line) from None
    except yaml.YAMLError as exc:
        raise DoctestError(f"invalid YAML: {exc}", path) from None
    finally:
        loader.dispose()
    return None if node is None else YNode(node, path)


def unknown_key(key: str, line: int, path: str, what: str, allowed: Iterable[str]) -> DoctestError:
    """An unknown-key error that suggests the nearest allowed key (typos are the usual cause)."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(allowed)}"
    return DoctestError(f"unknown key {key!r} in {what}{hint}", path, line)
