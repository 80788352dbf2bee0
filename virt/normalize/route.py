"""Route templates: `/users/123/orders/9f2c...` becomes `/users/{id}/orders/{id}`.

Recordings that share method, origin and route template form one candidate group for fuzzy
matching; a request only ever scores against its own group, never against all recordings.
"""

from __future__ import annotations

import hashlib
import re

from virt.model import Request
from virt.normalize.uri import path_form

PARAM = "{id}"

_ID_SEGMENT = re.compile(
    r"""
    \d+                                     # 42, 1700000000
    | [0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}   # uuid
    | (?=[a-z_-]*\d)[0-9a-z_-]{16,}         # tokens, ULIDs, base64 ids with a digit: 16+ chars
    | (?=[a-f]*\d)[0-9a-f]{8,}              # hex digests and object ids: 8+ chars with a digit
    | [a-z]{2,8}_(?=[a-z]*\d)[0-9a-z]{6,}   # prefixed ids: cus_9Xk2..., ord_1234abcd
    """,
    re.IGNORECASE | re.VERBOSE,
)


def is_param(segment: str) -> bool:
    """Whether a path segment reads as an identifier rather than a fixed part of the route."""
    return _ID_SEGMENT.fullmatch(segment) is not None


def template(path: str) -> str:
    """`path` with every identifier-like segment replaced by {id}."""
    return "/".join(PARAM if seg and is_param(seg) else seg for seg in path.split("/"))


def route_key(request: Request) -> str:
    """A digest of method, origin and route template: the candidate group of `request`."""
    text = "\0".join(
        (
            request.method.upper(),
            request.scheme.lower(),
            request.host.lower(),
            str(request.port),
            template(path_form(request.path)),
        )
    )
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]
