"""Canonical request forms: what stays the same when a client re-sends "the same" request.

JSON is compared as data (key order, whitespace and number spelling do not matter), forms as
sorted pairs, multipart by part names and content hashes (never the boundary), GraphQL by its
normalised document and variables, XML canonicalised (C14N 2.0), anything else as bytes.
Query strings are sorted multisets without the signing parameters that change on every call.
"""

from __future__ import annotations

import hashlib
import re
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from xml.etree import ElementTree

import orjson

from virt.model import Request, header
from virt.normalize.uri import byte_pairs, pairs, path_form

VOLATILE_QUERY = frozenset(
    {
        # AWS SigV4 presigned URLs, and SigV2
        "x-amz-date",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-expires",
        "signature",
        "awsaccesskeyid",
        # Google Cloud Storage signed URLs
        "x-goog-date",
        "x-goog-signature",
        "x-goog-credential",
        "x-goog-expires",
    }
)
"""Query parameters whose values change on every signed request (or say how long a presigned URL
lives); their values are ignored."""

_GRAPHQL_SPACE = re.compile(r"[\s,]+")

MAX_DEPTH = 64
"""JSON nested deeper than this is not read as data: its body is compared as bytes (exact
key, canonical key and one digest field), so no walk over it can run out of stack."""


def query_form(query: str) -> list[tuple[str, str]]:
    """The query as sorted pairs, volatile parameters kept by name with their value blanked."""
    return sorted((k, "" if k.lower() in VOLATILE_QUERY else v) for k, v in pairs(query))


def body_form(request: Request) -> bytes:
    """A canonical byte form of the body, chosen by Content-Type (and a sniff for JSON)."""
    body = request.body
    if not body:
        return b""
    ctype = (header(request.headers, "content-type") or "").lower()
    try:
        if "multipart/" in ctype:
            return _multipart(body, ctype)
        if "application/x-www-form-urlencoded" in ctype:
            return _form(body)
        if "xml" in ctype:
            return ElementTree.canonicalize(body.decode("utf-8"), strip_text=True).encode()
    except (ValueError, ElementTree.ParseError, UnicodeDecodeError):
        pass  # not what it claims: compare the bytes
    else:
        data = json_form(request)
        if data is not NOT_JSON:
            return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    return b"bytes:" + body


NOT_JSON: Any = object()
"""What json_form returns for a body that is not JSON (None is JSON's null)."""


def json_form(request: Request) -> Any:
    """The body as normalised JSON data (GraphQL documents tidied, 1.0 read as 1), or NOT_JSON
    when it is not JSON: by Content-Type, or by a sniff of its first byte."""
    body = request.body
    if not body:
        return NOT_JSON
    ctype = (header(request.headers, "content-type") or "").lower()
    if "multipart/" in ctype or "x-www-form-urlencoded" in ctype or "xml" in ctype:
        return NOT_JSON
    if "json" in ctype or "graphql" in ctype or body[:1] in (b"{", b"["):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:  # not JSON, or nested past orjson's own limit
            return NOT_JSON
        if too_deep(data):
            return NOT_JSON
        return _normalise(data)
    return NOT_JSON


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests containers more than `limit` deep (an iterative walk)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _form(body: bytes) -> bytes:
    """A form body as sorted pairs; escapes decoded as bytes, so any byte keeps its value."""
    raw = sorted(byte_pairs(body))
    try:
        return orjson.dumps([[k.decode(), v.decode()] for k, v in raw])
    except UnicodeDecodeError:  # not UTF-8: the bytes themselves, length-prefixed
        return b"form-bytes:" + b"".join(b"%d:%d:%b%b" % (len(k), len(v), k, v) for k, v in raw)


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        graphql = isinstance(value.get("query"), str) and (
            "variables" in value or "operationName" in value
        )
        out = {k: _normalise(v) for k, v in value.items()}
        if graphql:
            # a GraphQL document: commas and whitespace are insignificant between tokens
            out["query"] = _GRAPHQL_SPACE.sub(" ", value["query"]).strip()
            if out.get("variables") is None:
                out.pop("variables", None)
        return out
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # 1.0 and 1 are the same number
    return value


def _multipart(body: bytes, ctype: str) -> bytes:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ValueError("not multipart")
    parts = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        parts.append(
            [
                part.get_param("name", header="content-disposition") or "",
                part.get_filename() or "",
                hashlib.sha256(content).hexdigest(),
            ]
        )
    return orjson.dumps(parts)


def canonical_key(request: Request) -> str:
    """A digest of the request's canonical form: equal for requests that differ only in drift."""
    h = hashlib.sha256()
    for part in (request.method.upper(), request.scheme.lower(), request.host.lower()):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    h.update(f"{request.port}\0{path_form(request.path)}\0".encode())
    h.update(orjson.dumps(query_form(request.query)) + b"\0")
    h.update(hashlib.sha256(body_form(request)).digest())
    return h.hexdigest()[:32]
