"""A bounded, safe YAML loader: plain data only, with limits on nesting and aliases.

Below every layer that reads YAML (recording formats, API descriptions), so that one loader
decides what is safe. Aliases are bounded while the document is composed, before anything is
built: a few bytes of nested anchors ("billion laughs") otherwise stand for billions of nodes
once a reader, the redactor or an export walks them. Real documents use few aliases or none
(none in the recordings corpus; PyYAML writes one per shared object), so a small budget
refuses bombs and nothing real.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, Event
from yaml.nodes import Node
from yaml.resolver import Resolver

__all__ = [
    "MAX_ALIASES",
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "YAML_ERRORS",
    "SafeLoader",
    "TextTimestampLoader",
    "YamlLimitError",
    "mark",
]

MAX_ALIASES = 100
"""Aliases (*name) one YAML document may hold."""
MAX_ALIAS_NODES = 100_000
"""Nodes the aliases of one document may stand for, counted as if each were written out."""
MAX_DEPTH = 100
"""How deep one document may nest, aliases written out (the deepest corpus file nests 12)."""


class YamlLimitError(yaml.MarkedYAMLError):
    """A document past one of the bounds above; problem_mark says where."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _BoundedComposer(Composer):
    """PyYAML's composer, counting per document the aliases, the nodes they stand for and the
    depth, and refusing a document past MAX_ALIASES, MAX_ALIAS_NODES or MAX_DEPTH, or one
    whose alias refers to a node that contains it (a cycle no reader can walk)."""

    _aliases: int
    _alias_nodes: int
    _open: set[str]
    _sizes: dict[str, tuple[int, int]]
    _frames: list[list[int]]

    if TYPE_CHECKING:  # from the parser this composer is mixed with

        def check_event(self, *choices: type[Event]) -> bool: ...
        def peek_event(self) -> Any: ...

    def compose_document(self) -> Node | None:
        self._aliases = 0
        self._alias_nodes = 0
        self._open = set()  # anchors of the nodes being composed
        self._sizes = {}  # anchor: (nodes, height) of its node, aliases written out
        self._frames = [[0, 0]]  # per open node: nodes and height of its children so far
        try:
            return super().compose_document()
        finally:
            self._sizes = {}
            self._frames = []

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        frame = self._frames[-1]
        depth = len(self._frames)
        if self.check_event(AliasEvent):
            event = self.peek_event()
            anchor = event.anchor
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlLimitError(
                    f"too many YAML aliases (budget {MAX_ALIASES}); refusing a possible alias bomb",
                    event.start_mark,
                )
            if anchor in self._open:
                raise YamlLimitError(
                    f"YAML alias *{anchor} refers to a node that contains it", event.start_mark
                )
            nodes, height = self._sizes.get(anchor, (1, 1))  # undefined: the composer says so
            self._alias_nodes += nodes
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise YamlLimitError(
                    f"YAML aliases stand for more than {MAX_ALIAS_NODES:,} nodes; "
                    "refusing a possible alias bomb",
                    event.start_mark,
                )
            if depth - 1 + height > MAX_DEPTH:
                raise YamlLimitError(
                    f"YAML nested deeper than {MAX_DEPTH} levels (through alias *{anchor})",
                    event.start_mark,
                )
            frame[0] += nodes
            frame[1] = max(frame[1], height)
            return super().compose_node(parent, index)
        event = self.peek_event()
        if depth > MAX_DEPTH:
            raise YamlLimitError(f"YAML nested deeper than {MAX_DEPTH} levels", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        self._frames.append([0, 0])
        node = super().compose_node(parent, index)
        nodes, height = self._frames.pop()
        nodes, height = nodes + 1, height + 1
        if anchor is not None:
            self._open.discard(anchor)
            self._sizes[anchor] = (nodes, height)
        frame[0] += nodes
        frame[1] = max(frame[1], height)
        return node


if yaml.__with_libyaml__:
    from yaml._yaml import CParser as _Parser  # libyaml scans and parses; composing is ours
else:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: Any) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


class SafeLoader(_BoundedComposer, _Parser, SafeConstructor, Resolver):
    """yaml's safe loader (libyaml's parser when it is built in) with bounded aliases and
    depth: builds plain data only, and refuses alias bombs while composing."""

    def __init__(self, stream: Any) -> None:
        _Parser.__init__(self, stream)
        _BoundedComposer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)


class TextTimestampLoader(SafeLoader):
    """The safe loader, timestamps kept as the text that was written (nanoseconds and all),
    so a header or a recorded time that looks like a date never becomes a datetime."""


TextTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in SafeLoader.yaml_implicit_resolvers.items()
}


YAML_ERRORS = (yaml.YAMLError, ValueError, TypeError, AttributeError, RecursionError)
"""What loading hostile input raises: PyYAML's constructors raise built-in errors too (a bad
explicit !!timestamp raises AttributeError, a deep nesting RecursionError); all of them mean
"not a readable document"."""


def mark(e: BaseException) -> tuple[int, int] | None:
    """(line, column), counted from 1, where loading raised `e`; None when it does not say."""
    where = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    line = getattr(where, "line", None)  # libyaml's marks are not yaml.error.Mark
    column = getattr(where, "column", None)
    if not isinstance(line, int):
        return None
    return line + 1, (column + 1 if isinstance(column, int) else 1)
