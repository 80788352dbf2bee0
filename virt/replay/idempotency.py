"""Idempotency keys, answered the way real APIs do: a request sent again with the key it was
first sent with gets the answer the first got (as Stripe does), whatever stage answered it; the
same key with a different body gets the route's recorded conflict answer, else a 409 saying why.

Kept per session in the session state, so workers and replicas agree, under the same record
names the fallback stage used before (#16): a recording, a fallback answer and a passthrough
are all kept alike.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from virt.errors import ConfigError, StateLimit
from virt.match.result import MatchKind
from virt.model import HOP_BY_HOP, Interaction, Request, header
from virt.normalize.route import template
from virt.normalize.uri import path_form
from virt.replay.reply import MATCH_HEADER, RECORDING_HEADER, Reply, wire, wire_body
from virt.state import SessionState
from virt.store import Filter, Store

log = logging.getLogger("virt.replay")

IDEMPOTENCY_HEADERS = ("idempotency-key", "x-idempotency-key")
"""Headers by which a client says a request it sends again is the same operation (Stripe, the
IETF draft, many payment APIs); virt.toml's [idempotency] headers adds others."""
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Methods that change nothing: a key on them is not an operation to repeat."""
CONFLICT = 409


class Idempotency:
    """Remembers the answer to each keyed request of a session, and answers its repeats."""

    def __init__(self, state: SessionState, store: Store, names: Iterable[str] = ()) -> None:
        self.state = state
        self.store = store
        self.names = tuple(dict.fromkeys([*IDEMPOTENCY_HEADERS, *(n.lower() for n in names)]))

    def key(self, request: Request) -> str | None:
        """The idempotency key `request` carries, None for a safe method or no key."""
        if request.method.upper() in _SAFE:
            return None
        for name in self.names:
            value = header(request.headers, name)
            if value:
                return value
        return None

    def repeat(
        self, request: Request, session: str, key: str
    ) -> tuple[Reply, MatchKind, int | None, dict[str, Any]] | None:
        """The first answer to this key in `session` (or the conflict answer when the body
        differs), with its kind, recording and explanation; None for a key not seen yet."""
        found = self.state.get(session, _name(request, key))
        if found is None:
            return None
        kept = orjson.loads(found)
        if kept.get("sent") != _digest(request):
            return self._conflict(request, key, kept)
        headers = tuple((n, v) for n, v in kept["headers"])
        first = dict(headers).get(MATCH_HEADER, "")
        headers = tuple(
            (n, f"{v};repeat" if n == MATCH_HEADER else v) for n, v in headers
        )  # the client and the journal see it was a repeat
        reply = Reply(
            kept["status"],
            kept["reason"],
            headers,
            base64.b64decode(kept["body"]),
            chunked=kept["chunked"],
        )
        kind = MatchKind(kept["kind"])
        explain = {"repeat": {"of": first, "header": kept["header"]}}
        return reply, kind, kept["id"], explain

    def keep(
        self,
        request: Request,
        session: str,
        key: str,
        reply: Reply,
        kind: MatchKind,
        interaction_id: int | None,
    ) -> None:
        """Remember `reply` as the answer to `key` in `session` (a miss is never kept)."""
        kept = {
            "sent": _digest(request),
            "header": next(n for n in self.names if header(request.headers, n)),
            "status": reply.status,
            "reason": reply.reason,
            "headers": reply.headers,
            "body": base64.b64encode(reply.body).decode(),
            "chunked": reply.chunked,
            "kind": kind.value,
            "id": interaction_id,
        }
        try:
            self.state.put(session, _name(request, key), orjson.dumps(kept))
        except StateLimit as e:
            log.warning("an answer is not kept for its idempotency key: %s", e)

    def _conflict(
        self, request: Request, key: str, kept: dict[str, Any]
    ) -> tuple[Reply, MatchKind, int | None, dict[str, Any]]:
        why = (
            f"the {kept['header']} {key[:80]!r} was first sent with another body: a key "
            "names one operation"
        )
        explain = {"repeat": {"conflict": why}}
        recorded = self._recorded_conflict(request)
        if recorded is not None:
            return _recorded(recorded, why), MatchKind.EXACT, recorded.id, explain
        body = orjson.dumps({"error": {"type": "idempotency_error", "message": f"virt: {why}"}})
        headers = (
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            (MATCH_HEADER, "repeat;conflict"),
        )
        return Reply(CONFLICT, "Conflict", headers, body), MatchKind.FALLBACK, None, explain

    def _recorded_conflict(self, request: Request) -> Interaction | None:
        """The route's own recorded 409, if the recordings hold one."""
        shape = re.sub(r"\{[^{}/]*\}", "*", template(path_form(request.path)))
        found = self.store.find(
            Filter(host=request.host, method=request.method.upper(), path=shape, status=CONFLICT),
            limit=1,
        )
        return found[0] if found else None


def _recorded(interaction: Interaction, why: str) -> Reply:
    resp = interaction.response
    body = wire_body(interaction)
    headers = [
        (n, v)
        for n, v in resp.headers
        if n.lower() not in HOP_BY_HOP and n.lower() != "content-length"
    ]
    headers.append(("Content-Length", str(len(body))))
    headers.append((MATCH_HEADER, "repeat;conflict"))
    headers.append((RECORDING_HEADER, str(interaction.id)))
    log.info("idempotency conflict answered by recording #%s: %s", interaction.id, why)
    return Reply(resp.status, resp.reason, tuple(headers), body, wire_headers=wire(headers))


def _digest(request: Request) -> str:
    return hashlib.sha256(request.body).hexdigest()[:32]


def _name(request: Request, key: str) -> str:
    """The session record of the answer to a request with `key`, on its route's path."""
    origin = f"{request.scheme}://{request.host}:{request.port}"
    text = f"{request.method.upper()} {origin}{path_form(request.path)} {key}"
    return "idem " + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:40]


def configured_headers(config: Mapping[str, Any], source: str) -> tuple[str, ...]:
    """The names virt.toml's `[idempotency] headers` adds to IDEMPOTENCY_HEADERS."""
    table = config.get("idempotency", {})
    names = table.get("headers", []) if isinstance(table, Mapping) else None
    if (
        not isinstance(table, Mapping)
        or set(table) - {"headers"}
        or not isinstance(names, list)
        or not all(isinstance(n, str) and n.strip() for n in names)
    ):
        raise ConfigError(
            f"{source}: [idempotency] takes one key, headers: a list of header names",
            hint='e.g. [idempotency] headers = ["Stripe-Idempotency-Key"]',
        )
    return tuple(n.strip() for n in names)
