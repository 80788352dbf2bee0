"""Safe YAML loading for every YAML-based format (VCR, Ruby VCR, go-vcr, Keploy, HAR as YAML).

One place decides which loader is safe, what it builds (plain data and the harmless tags
recorders write), how timestamps are kept (as the text recorders wrote), how far a document
may nest and alias, and which errors mean "not a readable document". Readers call load() or
load_all(), which raise ImportFormatError naming the file and the line, and nothing else.

Aliases are bounded while the document is composed, before anything is built: a few bytes of
nested anchors ("billion laughs") otherwise stand for billions of nodes once a reader, the
redactor or an export walks them. Real recordings use few aliases or none (none in the corpus;
PyYAML writes one per shared object), so a small budget refuses bombs and nothing real.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, Event
from yaml.nodes import Node
from yaml.resolver import Resolver

from virt.formats.base import ImportFormatError, oneline

__all__ = [
    "MAX_ALIASES",
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "YAML_ERRORS",
    "CassetteLoader",
    "SafeLoader",
    "TextTimestampLoader",
    "YamlLimitError",
    "load",
    "load_all",
]

MAX_ALIASES = 100
"""Aliases (*name) one YAML document may hold."""
MAX_ALIAS_NODES = 100_000
"""Nodes the aliases of one document may stand for, counted as if each were written out."""
MAX_DEPTH = 100
"""How deep one document may nest, aliases written out (the deepest corpus file nests 12)."""

Source = bytes | str | IO[bytes] | IO[str]


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


class CassetteLoader(SafeLoader):
    """The safe loader plus the harmless tags cassette recorders write, each built as plain data.

    Python tags (VCR.py): python/tuple and python/list as lists, python/unicode, python/str and
    python/bytes as themselves, the pre-1.0 `python/object:vcr.request.Request` as a dict and
    `python/object/apply:__builtin__.frozenset` as a list. Ruby tags (Ruby VCR, Psych): `!binary`
    as bytes, `!ruby/struct:*` and `!ruby/object:*` as dicts, `!ruby/sym` as a string. Any other
    tag (python/object/apply:os.system, python/name:...) is a ConstructorError: nothing named
    in a cassette is ever imported or called. Timestamps stay the strings they were written as.
    """


def _str(loader: Any, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))


def _seq(loader: Any, node: yaml.Node) -> list[Any]:
    return list(loader.construct_sequence(node, deep=True))


def _map(loader: Any, node: yaml.Node) -> dict[Any, Any]:
    return dict(loader.construct_mapping(node, deep=True))


def _map_any(loader: Any, _suffix: str, node: yaml.Node) -> dict[Any, Any]:
    return _map(loader, node)


def _frozenset(loader: Any, node: yaml.Node) -> list[Any]:
    args = _seq(loader, node)  # apply:frozenset's arguments: one iterable
    if len(args) != 1 or not isinstance(args[0], list):
        raise ConstructorError(None, None, "frozenset needs one list argument", node.start_mark)
    return list(args[0])


def _bytes(loader: Any, node: yaml.Node) -> bytes:
    text = str(loader.construct_scalar(node))
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as e:
        raise ConstructorError(
            None, None, f"binary value is not base64: {e}", node.start_mark
        ) from e


_PY = "tag:yaml.org,2002:python/"
for _tag, _build in {
    _PY + "tuple": _seq,
    _PY + "list": _seq,
    _PY + "dict": _map,
    _PY + "unicode": _str,
    _PY + "str": _str,
    _PY + "bytes": _bytes,
    _PY + "object:vcr.request.Request": _map,
    _PY + "object/apply:__builtin__.frozenset": _frozenset,
    _PY + "object/apply:builtins.frozenset": _frozenset,
    "tag:yaml.org,2002:timestamp": _str,
    "tag:yaml.org,2002:binary": _bytes,
    "!binary": _bytes,
    "!ruby/sym": _str,
    "!ruby/symbol": _str,
    "!ruby/string": _str,
}.items():
    CassetteLoader.add_constructor(_tag, _build)
for _prefix in ("!ruby/struct:", "!ruby/object:"):
    CassetteLoader.add_multi_constructor(_prefix, _map_any)
del _tag, _build, _prefix


YAML_ERRORS = (yaml.YAMLError, ValueError, TypeError, AttributeError, RecursionError)
"""What loading hostile input raises: PyYAML's constructors raise built-in errors too (a bad
explicit !!timestamp raises AttributeError, a deep nesting RecursionError); all of them mean
"not a readable document"."""


def load(source: Source, path: Path, loader: type[SafeLoader] = SafeLoader) -> Any:
    """The one YAML document in `source` (the contents of `path`), built by `loader`.

    Raises ImportFormatError naming `path` and the line, and nothing else.
    """
    reading = loader(source)
    try:
        return reading.get_single_data()
    except YAML_ERRORS as e:
        raise error(path, e) from None
    finally:
        reading.dispose()


def load_all(source: Source, path: Path, loader: type[SafeLoader] = SafeLoader) -> Iterator[Any]:
    """Each YAML document in `source` (the contents of `path`), streamed, built by `loader`.

    Raises ImportFormatError naming `path` and the line, and nothing else.
    """
    reading = loader(source)
    try:
        while True:
            try:
                if not reading.check_data():  # type: ignore[no-untyped-call]
                    return
                doc = reading.get_data()
            except YAML_ERRORS as e:
                raise error(path, e) from None
            yield doc
    finally:
        reading.dispose()


def error(path: Path, e: BaseException) -> ImportFormatError:
    """The ImportFormatError that says what loading `path` as YAML raised, and on which line."""
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    line = getattr(mark, "line", None)  # libyaml's marks are not yaml.error.Mark
    where = f"line {line + 1}" if isinstance(line, int) else ""
    if isinstance(e, YamlLimitError):
        return ImportFormatError(path, where, str(e.problem))
    if isinstance(e, ConstructorError) and "could not determine a constructor" in str(e):
        return ImportFormatError(
            path,
            where,
            f"YAML carries a tag virt does not build: {e.problem}",
            hint="only plain data and the harmless tags recorders write are read",
        )
    if isinstance(e, yaml.MarkedYAMLError) and e.problem:
        return ImportFormatError(path, where, f"not valid YAML: {e.problem}")
    if isinstance(e, RecursionError):
        return ImportFormatError(path, where, f"YAML nested deeper than {MAX_DEPTH} levels")
    return ImportFormatError(path, where, f"not valid YAML: {oneline(e)}")
