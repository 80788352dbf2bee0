"""Safe YAML loading for every YAML-based format (VCR, Ruby VCR, go-vcr, Keploy, HAR as YAML).

One place decides which loader is safe, what it builds (plain data and the harmless tags
recorders write), how timestamps are kept (as the text recorders wrote), how far a document
may nest and alias, and which errors mean "not a readable document". Readers call load() or
load_all(), which raise ImportFormatError naming the file and the line, and nothing else.

The bounded loader itself (limits on depth and aliases) lives in virt.yamlsafe, below the
layers that read YAML, and is re-exported here for the readers that import it from this module.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml
from yaml.constructor import ConstructorError

from virt.formats.base import ImportFormatError, oneline
from virt.yamlsafe import (
    MAX_ALIAS_NODES,
    MAX_ALIASES,
    MAX_DEPTH,
    YAML_ERRORS,
    SafeLoader,
    TextTimestampLoader,
    YamlLimitError,
)

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

Source = bytes | str | IO[bytes] | IO[str]


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
