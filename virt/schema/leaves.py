"""Leaves: the values of a request and of a JSON answer, each at a path.

The fallback stage learns which request value a recorded answer repeated, and where (the
request's `amount` form field at the answer's `$.amount`), then puts a new request's value at
that place. Both sides are flattened here to (path, value) pairs with typed values: 2500 the
number and "2500" the string stay apart until the answer's own type says which one to write.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from virt.model import Request, header
from virt.normalize.canonical import NOT_JSON, json_form, too_deep
from virt.normalize.fields import MAX_FIELDS_BODY
from virt.normalize.uri import pairs, path_form

Path = tuple[str | int, ...]
"""Where a value sits in a JSON document: keys and list indexes from the root."""

MAX_LEAVES = 5_000
"""Leaves walked in one document: a larger answer is used as a template only at its top."""


def walk(value: Any, limit: int = MAX_LEAVES) -> Iterator[tuple[Path, Any]]:
    """Every scalar leaf of `value` with its path, in document order, at most `limit`."""
    stack: list[tuple[Path, Any]] = [((), value)]
    seen = 0
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(node))))
        else:
            yield path, node
            seen += 1
            if seen >= limit:
                return


def get(document: Any, path: Path) -> Any:
    """The value at `path`, or KeyError."""
    node = document
    for step in path:
        fits = isinstance(node, dict) and isinstance(step, str)
        if not fits and not (isinstance(node, list) and isinstance(step, int)):
            raise KeyError(step)
        if isinstance(node, list) and not 0 <= int(step) < len(node):
            raise KeyError(step)
        node = node[step]
    return node


def put(document: Any, path: Path, value: Any) -> bool:
    """Set the value at `path` in place; False when the path is not there."""
    if not path:
        return False
    try:
        parent = get(document, path[:-1])
    except KeyError:
        return False
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str) and last in parent:
        parent[last] = value
        return True
    if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        parent[last] = value
        return True
    return False


def shown(path: Path) -> str:
    """`path` as the flat name the journal uses: `$.data[0].id`."""
    out = "$"
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else f".{step}"
    return out


def request_values(request: Request) -> dict[str, Any]:
    """A request's own values by field name: `path[2]` (every segment), `query:page` (the first
    value), `body:$.user.id` (JSON leaves, typed), `form:amount`."""
    out: dict[str, Any] = {}
    for i, segment in enumerate(path_form(request.path).split("/")):
        if segment:
            out[f"path[{i}]"] = segment
    if request.query:
        for name, value in pairs(request.query):
            out.setdefault(f"query:{name}", value)
    if not request.body:
        return out
    ctype = (header(request.headers, "content-type") or "").lower()
    if "x-www-form-urlencoded" in ctype:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            return out
        for name, value in pairs(text):
            out.setdefault(f"form:{name}", value)
        return out
    data = body_data(request)
    if data is not NOT_JSON:
        for path, value in walk(data):
            out[f"body:{shown(path)}"] = value
    return out


def body_data(request: Request) -> Any:
    """The request's body as JSON data, or NOT_JSON; a body over MAX_FIELDS_BODY is not read
    as data (as scoring compares it whole), so no made-up answer parses megabytes on the loop."""
    if len(request.body) > MAX_FIELDS_BODY:
        return NOT_JSON
    return json_form(request)


def json_body(body: bytes, content_type: str | None) -> Any:
    """A response body as JSON data, or NOT_JSON."""
    ctype = (content_type or "").lower()
    if not body or ("json" not in ctype and body.lstrip()[:1] not in (b"{", b"[")):
        return NOT_JSON
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return NOT_JSON
    return NOT_JSON if too_deep(data) else data


def same_value(recorded: Any, sent: Any) -> bool:
    """Whether a request value and an answer value are the same datum: equal, or the text of
    the other (a form's "2500" and JSON's 2500); booleans only equal booleans."""
    if isinstance(recorded, bool) or isinstance(sent, bool):
        return recorded is sent
    if recorded == sent:
        return True
    if isinstance(recorded, int | float) and isinstance(sent, str):
        return _number(sent) == recorded
    if isinstance(sent, int | float) and isinstance(recorded, str):
        return _number(recorded) == sent
    return False


def converted(value: Any, like: Any) -> Any:
    """`value` in the type of `like` (the recorded answer's value at the same place), so a form
    field's "2500" goes into a JSON number as 2500; `value` as it is when it cannot be."""
    if isinstance(like, bool):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value if isinstance(value, bool) else like
    if isinstance(like, int) and not isinstance(value, bool):
        n = _number(value) if isinstance(value, str) else value
        if isinstance(n, int) or (isinstance(n, float) and n.is_integer()):
            return int(n)
        return n if isinstance(n, float) else like
    if isinstance(like, float) and not isinstance(value, bool):
        n = _number(value) if isinstance(value, str) else value
        return float(n) if isinstance(n, int | float) else like
    if isinstance(like, str):
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return value


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None
