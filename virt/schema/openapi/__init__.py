"""OpenAPI 3.0 and 3.1 documents: loaded, validated, and read as operations with JSON Schemas."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from virt.errors import OpenApiError
from virt.limits import size_text
from virt.schema.openapi.document import MAX_DOCUMENT, is_openapi
from virt.schema.openapi.operations import Answer, OpenApi, Operation, load_openapi
from virt.store.reads import Reads

__all__ = [
    "MAX_DOCUMENT",
    "Answer",
    "OpenApi",
    "OpenApiError",
    "Operation",
    "documents",
    "is_openapi",
    "load_openapi",
    "read_file",
]


def read_file(path: Path) -> bytes:
    """The bytes of the document at `path`, refusing one past MAX_DOCUMENT before reading it.
    Raises OpenApiError naming the file."""
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT:
            raise OpenApiError(
                str(path),
                "",
                "size",
                f"{path}: {size_text(size)} is more than the {size_text(MAX_DOCUMENT)} "
                "an OpenAPI document may be",
            )
        return path.read_bytes()
    except OSError as e:
        raise OpenApiError(
            str(path), "", "readable", f"{path}: cannot be read: {e.strerror or e}"
        ) from None


def documents(store: Reads | None, extra: Sequence[Path]) -> list[OpenApi]:
    """The documents stored in `store` (virt import) and those in `extra` files (serve
    --openapi), each loaded once however often it was given. Raises OpenApiError."""
    seen: set[str] = set()
    out: list[OpenApi] = []
    given: list[tuple[str, bytes]] = []
    if store is not None:
        given += [(f"{store.path}: {name}", data) for name, data in store.documents("openapi")]
    given += [(str(path), read_file(path)) for path in extra]
    for source, data in given:
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        out.append(load_openapi(data, source))
    return out
