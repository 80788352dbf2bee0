"""An OpenAPI document as data: parsed within bounds, validated, its `$ref`s resolved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from virt.errors import OpenApiError
from virt.limits import MiB, size_text
from virt.yamlsafe import MAX_DEPTH, YAML_ERRORS, TextTimestampLoader, YamlLimitError, mark

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

MAX_DOCUMENT = 32 * MiB
"""The largest OpenAPI document read (the OpenAI API's, among the largest published, is 3 MB)."""
MAX_REF_HOPS = 32
"""`$ref`s followed in a row to reach one object (a $ref to a $ref to …)."""

VERSION = re.compile(r"3\.([01])\.\d+")
"""The OpenAPI versions read: 3.0.x and 3.1.x."""

_BASE = "virt:openapi"
"""The URI the document is registered under, so "#/components/..." resolves within it."""


_JSON_KEY = re.compile(rb'[{,]\s*"(?:openapi"\s*:\s*"3\.|swagger"\s*:\s*"2\.)')
_YAML_KEY = re.compile(
    rb"""(?m)^["']?(?:openapi["']?\s*:\s*["']?3\.|swagger["']?\s*:\s*["']?2\.)"""
)


def is_openapi(data: bytes) -> bool:
    """A cheap look at a document's first bytes: a top-level `openapi: 3.x` key (or Swagger
    2.0's `swagger` key, so that it is refused by name rather than as no format at all)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return _JSON_KEY.search(head) is not None
    return _YAML_KEY.search(head) is not None


def parse(data: bytes, source: str) -> dict[str, Any]:
    """The document in `data` (YAML or JSON) as plain JSON data: string keys, no dates, bounded
    in size and depth. Raises OpenApiError naming `source` and the line and column."""
    if len(data) > MAX_DOCUMENT:
        raise OpenApiError(
            source,
            "",
            "size",
            f"{source}: {size_text(len(data))} is more than the {size_text(MAX_DOCUMENT)} "
            "an OpenAPI document may be",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise OpenApiError(
            source, f"line {line}", "UTF-8", f"{source}: line {line}: not UTF-8 text"
        ) from None
    if text.lstrip().startswith("{"):
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            where = f"line {e.lineno}, column {e.colno}"
            raise OpenApiError(
                source, where, "JSON", f"{source}: {where}: not valid JSON: {e.msg}"
            ) from None
    else:
        doc = _yaml(text, source)
    if not isinstance(doc, dict):
        raise OpenApiError(
            source, "/", "type", f"{source}: an OpenAPI document is a mapping at the top"
        )
    return _plain(doc, source, 0)  # type: ignore[no-any-return]


def _yaml(text: str, source: str) -> Any:
    loader = TextTimestampLoader(text)  # dates stay the text written: documents are JSON data
    try:
        return loader.get_single_data()
    except YAML_ERRORS as e:
        at = mark(e)
        where = f"line {at[0]}, column {at[1]}" if at else "somewhere"
        problem = getattr(e, "problem", None) if isinstance(e, YamlLimitError) else None
        if isinstance(e, RecursionError):
            problem = f"nested deeper than {MAX_DEPTH} levels"
        why = problem or getattr(e, "problem", None) or " ".join(str(e).split())
        raise OpenApiError(
            source, where, "YAML", f"{source}: {where}: not valid YAML: {why}"
        ) from None
    finally:
        loader.dispose()


def _plain(node: Any, source: str, depth: int) -> Any:
    """`node` with mapping keys as strings (YAML reads `200:` as a number) and values that are
    not JSON (binary, sets) as text; refuses nesting past MAX_DEPTH (JSON is not bounded)."""
    if depth > MAX_DEPTH:
        raise OpenApiError(source, "", "depth", f"{source}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, dict):
        return {_key(k): _plain(v, source, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v, source, depth + 1) for v in node]
    if node is None or isinstance(node, str | int | float | bool):
        return node
    if isinstance(node, bytes):
        return node.decode("utf-8", "replace")
    return str(node)


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def pointer(path: Iterator[Any] | list[Any] | tuple[Any, ...]) -> str:
    """The JSON pointer (RFC 6901) of a path of keys and indexes: ("paths", "/a/{b}") gives
    "/paths/~1a~1{b}"; the empty path is "/" for readability (the document itself)."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else "/"


def validate(doc: dict[str, Any], source: str) -> int:
    """Check `doc` against the OpenAPI 3.0 or 3.1 schema (openapi-spec-validator's), that
    every `$ref` resolves within it and that operationIds are unique; returns the minor
    version (0 or 1). Raises OpenApiError naming `source`, the JSON pointer and the rule.

    The validator's further checks (each Schema Object against its dialect, defaults and
    examples against their schemas) are not run: real documents, the OpenAI API's among them,
    break them in ways that do not stop virt from using the document (a `default` outside its
    enum), and on a 3 MB document they take seconds."""
    version = doc.get("openapi")
    m = VERSION.fullmatch(version) if isinstance(version, str) else None
    if m is None and "swagger" in doc and version is None:
        raise _invalid(
            source,
            "/openapi",
            "openapi",
            f"Swagger {doc['swagger']} is not read: convert it to OpenAPI 3 first "
            "(swagger2openapi, or editor.swagger.io)",
        )
    if m is None:
        raise _invalid(source, "/openapi", "openapi", f"version {version!r} is not 3.0.x or 3.1.x")
    # imported here: openapi-spec-validator takes 0.1 s to import, and only validation needs it
    from openapi_spec_validator.schemas import (
        openapi_v30_schema_validator,
        openapi_v31_schema_validator,
    )

    validator = openapi_v30_schema_validator if m[1] == "0" else openapi_v31_schema_validator
    error = next(iter(validator.iter_errors(doc)), None)  # the first, in document order
    if error is not None:
        raise _from_validation(source, error)
    refs = Refs(doc, source)
    for at, ref in _refs(doc, ()):
        refs.resolve(ref, pointer(at))
    _unique_operation_ids(doc, source)
    return int(m[1])


_FAILED = re.compile(r'Failed validating "([^"]+)"')


def _from_validation(source: str, error: ValidationError) -> OpenApiError:
    """The validator's error as an OpenApiError: its path as a JSON pointer, its keyword as the
    rule (openapi-spec-validator's Rust-backed errors carry the keyword only in the text)."""
    text = str(error.message)
    m = _FAILED.search(text)
    rule = m[1] if m else error.validator if isinstance(error.validator, str) else "schema"
    message = " ".join(text.split("\n\n")[0].split())
    if len(message) > 200:
        message = message[:197] + "..."
    return _invalid(source, pointer(list(error.absolute_path)), rule, message)


def _invalid(source: str, at: str, rule: str, message: str) -> OpenApiError:
    return OpenApiError(
        source,
        at,
        rule,
        f"{source}: not a valid OpenAPI document: at {at}: {message} (rule: {rule})",
        hint="fix the document (openapi-spec-validator FILE shows every problem); nothing was "
        "stored",
    )


def _refs(node: Any, at: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield (*at, "$ref"), ref
        for k, v in node.items():
            if isinstance(v, dict | list) and k not in ("example", "examples", "default", "enum"):
                yield from _refs(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, dict | list):
                yield from _refs(v, (*at, i))


def _unique_operation_ids(doc: dict[str, Any], source: str) -> None:
    seen: dict[str, str] = {}
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method, op in item.items():
            op_id = op.get("operationId") if isinstance(op, dict) else None
            if not isinstance(op_id, str):
                continue
            at = pointer(("paths", path, method, "operationId"))
            if op_id in seen:
                raise _invalid(
                    source,
                    at,
                    "unique operationId",
                    f"operationId {op_id!r} is also the one at {seen[op_id]}",
                )
            seen[op_id] = at


class Refs:
    """Resolves the `$ref`s of one document with `referencing`; only references within the
    document ("#/components/schemas/Pet") are followed, never a file or a URL."""

    def __init__(self, doc: dict[str, Any], source: str) -> None:
        self.doc = doc
        self.source = source
        resource = DRAFT202012.create_resource(doc)
        self._resolver = Registry().with_resource(_BASE, resource).resolver(base_uri=_BASE)

    def resolve(self, ref: str, at: str) -> Any:
        """What `ref` (found at pointer `at`) points to. Raises OpenApiError."""
        if not ref.startswith("#"):
            raise _invalid(
                self.source,
                at,
                "$ref within the document",
                f"$ref {ref!r} points outside the document; virt reads one self-contained file",
            )
        try:
            return self._resolver.lookup(ref).contents
        except Unresolvable:
            raise _invalid(
                self.source, at, "$ref resolves", f"$ref {ref!r} points to nothing"
            ) from None

    def follow(self, node: Any, at: str) -> Any:
        """`node` itself, or what its `$ref` (and theirs, in a row) point to."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or len(seen) >= MAX_REF_HOPS:
                raise _invalid(
                    self.source, at, "$ref resolves", f"$ref {ref!r} leads around in a circle"
                )
            seen.add(ref)
            node = self.resolve(ref, at)
            at = ref[1:] or "/"
        return node
