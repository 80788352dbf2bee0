"""Reply: the bytes a door sends back for a request, built the same way for both doors."""

from __future__ import annotations

from dataclasses import dataclass

from virt import encoding
from virt.faults import Action
from virt.match.result import Match, MatchKind
from virt.memo import Memo
from virt.model import HOP_BY_HOP, Headers, Interaction, header

MATCH_HEADER = "X-Virt-Match"
RECORDING_HEADER = "X-Virt-Recording"
_NO_BODY_STATUS = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class Reply:
    """A response ready for the wire: `body` is encoded as its headers say."""

    status: int
    reason: str
    headers: Headers
    body: bytes
    chunked: bool = False
    """The recording had no Content-Length (chunked or streamed): send it the same way."""
    wire_headers: list[tuple[bytes, bytes]] | None = None
    """`headers` as the server sends them, when worked out already (a reply built once and
    sent again); the doors encode `headers` otherwise."""
    fault: Action | None = None
    """What the doors do instead of (or before) sending it plainly: a fault plan's choice or
    the recorded latency (virt.replay.faulting); None on the plain path."""

    def encoded_headers(self) -> list[tuple[bytes, bytes]]:
        if self.wire_headers is not None:
            return self.wire_headers
        return wire(self.headers)


def wire(headers: Headers | list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Headers as the ASGI server takes them."""
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def wire_body(interaction: Interaction) -> bytes:
    """The response body as it was on the wire: the recorded encoded bytes, else re-encoded."""
    resp = interaction.response
    if resp.encoding is None:
        return resp.body
    if resp.wire_body is not None:
        return resp.wire_body
    return encoding.encode(resp.body, resp.encoding)


MEMO_SIZE = 4096
"""Replies remembered, so that a recording answered again is not rebuilt (the oldest goes)."""
MEMO_BODY = 4096
"""Replies with larger bodies are built afresh each time (memory stays within 16 MiB)."""
_built: Memo[tuple[int, str, bool], tuple[Interaction, Reply]] = Memo(MEMO_SIZE, again=True)


def from_match(match: Match, method: str) -> Reply:
    """The recorded response of a matched interaction, byte for byte, plus virt's headers."""
    interaction = match.interaction
    assert interaction is not None
    if interaction.id is None or match.kind is MatchKind.FALLBACK:
        return _from_match(match, interaction, method)  # made for this request: nothing to keep
    key = (interaction.id, match.header_value, method.upper() == "HEAD")
    found = _built.get(key)
    if found is not None and found[0] is interaction:  # not echoed, minted or shifted anew
        return found[1]
    reply = _from_match(match, interaction, method)
    if len(reply.body) <= MEMO_BODY:
        _built.put(key, (interaction, reply))
    return reply


def _from_match(match: Match, interaction: Interaction, method: str) -> Reply:
    resp = interaction.response
    body = wire_body(interaction)
    recorded_length = header(resp.headers, "content-length")
    if method.upper() == "HEAD" or resp.status in _NO_BODY_STATUS or 100 <= resp.status < 200:
        body = b""
    headers: list[tuple[str, str]] = []
    for name, value in resp.headers:
        lname = name.lower()
        if lname in HOP_BY_HOP:
            continue
        if lname == "content-length" and method.upper() != "HEAD":
            value = str(len(body))
        headers.append((name, value))
    headers.append((MATCH_HEADER, match.header_value))
    if interaction.id is not None:
        headers.append((RECORDING_HEADER, str(interaction.id)))
    return Reply(
        status=resp.status,
        reason=resp.reason,
        headers=tuple(headers),
        body=body,
        chunked=recorded_length is None and bool(body),
        wire_headers=wire(headers),
    )
