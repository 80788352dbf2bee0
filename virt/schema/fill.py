"""Fill: a recorded answer made into the answer to a new request.

Where the recordings of a route show a request value repeated in the answer (the path's id at
`$.id`, the form's `amount` at `$.amount`, a GraphQL variable deep in `$.data`), the new
request's value goes to that place, in the answer's own type. This is echo generalised from
"the same value" to "the same field": learned from every recording of the route, refused when
one recording contradicts it, and never from a coincidence of small values (`1` and `true` are
everywhere) unless the names agree too (`query:page` and `$.page`).

A create (POST) answers with new identifiers: values the recordings show to be fresh on each
call (ids, request ids) get new ones of the same shape, drawn from the request's seed.
"""

from __future__ import annotations

import copy
import hashlib
import random
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from virt.normalize.canonical import NOT_JSON
from virt.normalize.route import is_param
from virt.schema import leaves
from virt.schema.book import Recorded
from virt.schema.leaves import Path

MIN_DISTINCT = 3
"""Characters a string (or digits a number) needs to be learned as an echo on its value alone."""
_ID_NAMES = ("id", "uuid", "guid", "key", "request_id", "requestid", "number")


@dataclass(frozen=True, slots=True)
class Echo:
    """The request field `field` is repeated at `path` of the answer."""

    field: str
    path: Path


def learn(recordings: Sequence[Recorded]) -> list[Echo]:
    """The echoes every recording of a route agrees on, in a stable order.

    A pair counts when its value is distinctive, when the names agree, or when recordings
    with different values all show it (ids 1, 2 and 3 each at `$.id`); one recording where
    both exist with other values rules it out."""
    seen: dict[Echo, set[str]] = {}
    strong: set[Echo] = set()
    disagree: set[Echo] = set()
    for r in recordings:
        if r.body is NOT_JSON:
            continue
        by_text: dict[str, list[Path]] = {}
        for path, value in leaves.walk(r.body):
            if value is None or isinstance(value, bool):
                continue
            by_text.setdefault(_text(value), []).append(path)
        for name, value in r.values.items():
            if value is None or isinstance(value, bool | dict | list):
                continue
            text = _text(value)
            for path in by_text.get(text, ()):
                e = Echo(name, path)
                seen.setdefault(e, set()).add(text)
                if _distinct(value) or _same_name(name, path) or _path_id(name, value, path):
                    strong.add(e)
        for e in seen:
            if e in disagree or e.field not in r.values:
                continue
            try:
                there = leaves.get(r.body, e.path)
            except KeyError:
                continue
            if not leaves.same_value(there, r.values[e.field]):
                disagree.add(e)
    kept = (
        e for e, values in seen.items() if e not in disagree and (e in strong or len(values) >= 2)
    )
    return sorted(kept, key=lambda e: (e.field, leaves.shown(e.path)))


def fill(body: Any, echoes: Iterable[Echo], sent: dict[str, Any]) -> tuple[Any, list[str]]:
    """A copy of `body` with the sent values at their learned places; also the names of the
    request fields put in."""
    out = copy.deepcopy(body)
    filled = []
    for e in echoes:
        if e.field not in sent:
            continue
        try:
            old = leaves.get(out, e.path)
        except KeyError:
            continue
        new = leaves.converted(sent[e.field], old)
        if type(new) is not type(old) and old is not None:
            continue  # a value the answer's type cannot hold is never written
        if new != old or type(new) is not type(old):
            leaves.put(out, e.path, new)
        if e.field not in filled:
            filled.append(e.field)
    return out, filled


def fresh_paths(recordings: Sequence[Recorded], echoes: Iterable[Echo]) -> list[Path]:
    """Places in the answers that hold an identifier made fresh on each call: named like an id,
    a different value in every recording (two at least), and not a repeated request value."""
    echoed = {e.path for e in echoes}
    values: dict[Path, list[Any]] = {}
    for r in recordings:
        if r.body is NOT_JSON or not isinstance(r.body, dict):
            continue
        for path, value in leaves.walk(r.body):
            if path in echoed or not path or not isinstance(path[-1], str):
                continue
            if isinstance(value, str | int) and not isinstance(value, bool) and _id_named(path[-1]):
                values.setdefault(path, []).append(value)
    return sorted(
        (
            p
            for p, seen in values.items()
            if len(seen) >= 2 and len(set(map(str, seen))) == len(seen)
        ),
        key=leaves.shown,
    )


def renew(
    body: Any, paths: Iterable[Path], recorded: Sequence[Recorded], nth: int, seed: bytes
) -> Any:
    """`body` with a new identifier at each of `paths` for the `nth` create of a session: one
    no recording holds and no earlier create of the session got. Numbers, and strings that end
    in a number after a common prefix (`t1`, `t2`), continue after the largest recorded
    (`t3`, `t4`, ...); other strings get a value of the same shape drawn from `seed`."""
    for path in paths:
        try:
            old = leaves.get(body, path)
        except KeyError:
            continue
        seen = []
        for r in recorded:
            if r.body is NOT_JSON:
                continue
            try:
                seen.append(leaves.get(r.body, path))
            except KeyError:
                continue
        leaves.put(body, path, _next_id(old, seen, nth, seed + leaves.shown(path).encode()))
    return body


_NUMBERED = re.compile(r"(.*?)(\d+)")


def _next_id(old: Any, seen: Sequence[Any], nth: int, seed: bytes) -> Any:
    if isinstance(old, int) and not isinstance(old, bool):
        numbers = [v for v in seen if isinstance(v, int) and not isinstance(v, bool)]
        return max(numbers, default=old) + 1 + nth
    if not isinstance(old, str):
        return old
    numbered = [_NUMBERED.fullmatch(v) for v in seen if isinstance(v, str)]
    if numbered and all(numbered):
        prefixes = {m.group(1) for m in numbered if m}
        if len(prefixes) == 1:
            width = {len(m.group(2)) for m in numbered if m}
            last = max(int(m.group(2)) for m in numbered if m)
            digits = str(last + 1 + nth)
            if len(width) == 1:
                digits = digits.zfill(width.pop())
            return prefixes.pop() + digits
    taken = {v for v in seen if isinstance(v, str)}
    for attempt in range(8):
        new = like(old, seed + bytes([attempt]))
        if new not in taken:
            return new
    return new


def like(old: Any, seed: bytes) -> Any:
    """A value shaped like `old`: `ch_3Nx9...` (or `auth0|64a...`) keeps its prefix and character
    classes, a number keeps its count of digits, a uuid stays a uuid."""
    rng = random.Random(hashlib.sha256(seed).digest())
    if isinstance(old, int) and not isinstance(old, bool):
        digits = max(len(str(abs(old))), 1)
        low = 10 ** (digits - 1) if digits > 1 else 1
        return rng.randrange(low, 10**digits)
    if not isinstance(old, str):
        return old
    cut = max(old.rfind("_"), old.rfind(":"), old.rfind("|")) + 1 if len(old) > 4 else 0
    out = [old[:cut]]
    for ch in old[cut:]:
        if ch.isdigit():
            out.append(rng.choice(string.digits))
        elif ch in "abcdef" and _hexish(old[cut:]):
            out.append(rng.choice("0123456789abcdef"))
        elif ch.islower():
            out.append(rng.choice(string.ascii_lowercase))
        elif ch.isupper():
            out.append(rng.choice(string.ascii_uppercase))
        else:
            out.append(ch)
    return "".join(out)


def _hexish(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF-" for c in text)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _distinct(value: Any) -> bool:
    """Whether a value is unlikely to be found in an answer by chance."""
    if isinstance(value, str):
        return len(value) >= MIN_DISTINCT and value.lower() not in ("true", "false", "null")
    if isinstance(value, int | float):
        return len(_text(abs(value))) >= MIN_DISTINCT
    return False


def _same_name(field: str, path: Path) -> bool:
    """Whether a request field and an answer place have the same last name (`form:amount` and
    `$.amount`, `query:page` and `$.meta.page`)."""
    if not path or not isinstance(path[-1], str):
        return False
    name = field.split(":", 1)[-1].rsplit(".", 1)[-1]
    return name.lower() == path[-1].lower()


def _path_id(field: str, value: Any, path: Path) -> bool:
    """Whether an identifier segment of the path (`/users/1`) sits at an id-named place of the
    answer (`$.id`, `$.user_id`): the path names the object the answer describes."""
    return (
        field.startswith("path[")
        and isinstance(value, str)
        and is_param(value)
        and bool(path)
        and isinstance(path[-1], str)
        and _id_named(path[-1])
    )


def _id_named(name: str) -> bool:
    lowered = name.lower()
    return lowered in _ID_NAMES or lowered.endswith(("_id", "-id")) or name.endswith("Id")
