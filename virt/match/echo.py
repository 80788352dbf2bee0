"""Echo: where a recorded response repeated a value from its request (an id, an idempotency key,
a client reference), replay repeats the new request's value in its place.

Only values that can be told apart from the rest of the response are echoed: JSON string
values replaced whole (quotes included, so "42" never touches the number 42), and in headers
and non-JSON bodies, values of at least eight characters.
"""

from __future__ import annotations

from dataclasses import replace

import orjson

from virt.model import Interaction, header
from virt.normalize.fields import Fields, is_client_header

_NEVER = frozenset(
    {
        "header:authorization",
        "header:cookie",
        "header:date",
        "header:user-agent",
        "header:content-length",
        "header:content-type",
        "header:host",
        "header:accept",
        "header:accept-encoding",
        "header:accept-language",
        "header:connection",
    }
)
"""Fields whose values say nothing about this exchange: never echoed."""
_MIN_RAW = 8
"""Shortest value replaced as plain text (headers, non-JSON bodies)."""
_MAX_UNSENT = 32
"""Fields missing from a request that `unsent` looks for in an answer, at most."""


def pairs(sent: Fields, recorded: Fields) -> list[tuple[str, str, str]]:
    """(field, recorded value, sent value) for every echoable field whose value changed,
    longest recorded value first so that no replacement cuts into a longer one."""
    out = []
    for name in sent.keys() & recorded.keys():
        new, old = sent[name], recorded[name]
        if new == old or name in _NEVER or "\x1f" in old or "\x1f" in new or not old:
            continue
        if is_client_header(name):
            continue  # a new SDK version or platform is no value of this exchange
        if name.startswith("body:"):
            if not (old.startswith('"') and new.startswith('"')):
                continue  # only JSON strings: numbers and booleans are too easily confused
            old, new = orjson.loads(old), orjson.loads(new)
        out.append((name, old, new))
    out.sort(key=lambda p: (-len(p[1]), p[0]))
    return out


def echo(interaction: Interaction, sent: Fields, recorded: Fields) -> tuple[Interaction, list[str]]:
    """`interaction` with the sent request's values echoed into its response; also the names
    of the fields echoed (empty when nothing changed, and the interaction is returned as is)."""
    changes = pairs(sent, recorded)
    if not changes:
        return interaction, []
    resp = interaction.response
    body = resp.body
    ctype = (header(resp.headers, "content-type") or "").lower()
    is_json = "json" in ctype or body.lstrip()[:1] in (b"{", b"[")
    headers = list(resp.headers)
    echoed = []
    for name, old, new in changes:
        hit = False
        if is_json:
            old_b, new_b = orjson.dumps(old), orjson.dumps(new)
            if old_b in body:
                body, hit = body.replace(old_b, new_b), True
        elif len(old) >= _MIN_RAW:
            old_b = old.encode("utf-8", "surrogateescape")
            if old_b in body:
                body, hit = body.replace(old_b, new.encode("utf-8", "surrogateescape")), True
        for i, (hname, value) in enumerate(headers):
            if value == old or (len(old) >= _MIN_RAW and old in value):
                headers[i] = (hname, value.replace(old, new))
                hit = True
        if hit:
            echoed.append(name)
    if not echoed:
        return interaction, []
    # the encoded wire bytes no longer hold this body: the reply encodes it afresh
    new_resp = replace(resp, body=body, headers=tuple(headers), wire_body=None)
    return replace(interaction, response=new_resp), sorted(echoed)


def unsent(sent: Fields, recorded: Fields, answer: bytes) -> str | None:
    """The first body or form field (by name) that the recorded request sent and `sent` does
    not, whose value the recorded `answer` repeats as a JSON string: replayed, that answer would
    tell the client something it never said (Auth0's signup answering an `email` to a signup
    without one). None when there is none. Values shorter than eight characters are left out:
    `"usd"` in an answer is no proof of an echo."""
    looked = 0
    for name in sorted(recorded.keys() - sent.keys()):
        value = recorded[name]
        if name.startswith("body:") and value.startswith('"'):
            text = orjson.loads(value)
        elif name.startswith("form:"):
            text = value
        else:
            continue  # numbers and booleans are too easily confused, headers say nothing
        if len(text) < _MIN_RAW:
            continue
        looked += 1
        if looked > _MAX_UNSENT:
            break  # each look scans the answer: a bound, for requests that lack thousands
        if orjson.dumps(text) in answer:
            return name
    return None
