"""Redaction: secrets replaced by keyed placeholders before an interaction touches disk.

Each secret becomes `<secret:3f9a1c02>`, eight hex digits of an HMAC-SHA256 of the secret under
a key kept outside the database (virt.redact.key), so the same secret always gets the same
placeholder: a request that carries it still finds its recording, once redacted the same way.

JWTs are secrets too, but their claims are what a service under test reads. In responses, a
JWT keeps its header and claims and loses its signature (`eyJ...eyJ....<secret:...>`), so that
replay can mint a fresh token with the same claims; in requests it becomes a bare placeholder.
The placeholder of a JWT ignores its time claims (virt.redact.claims), so a token minted at
replay redacts to the same placeholder as the one it stands for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from virt.memo import Memo
from virt.model import Headers, Interaction, Request, Response, header
from virt.redact.parts import PartRedactor

MEMO_SIZE = 4096
"""Request parts whose redaction is remembered, of each kind (the oldest forgotten first)."""
MEMO_PART = 8 * 1024
"""Larger parts (headers, query, body) are redacted afresh each time."""


@dataclass
class Redactor(PartRedactor):
    """Replaces secrets in interactions with keyed placeholders."""

    _seen_headers: Memo[Headers, Headers] = field(
        init=False, repr=False, compare=False, default_factory=lambda: Memo(MEMO_SIZE, again=True)
    )
    """Request headers, query strings and bodies redacted lately (small ones): clients send the
    same ones again and again, and redacting them costs more than the rest of an exact match."""
    _seen_queries: Memo[str, str] = field(
        init=False, repr=False, compare=False, default_factory=lambda: Memo(MEMO_SIZE, again=True)
    )
    _seen_bodies: Memo[tuple[bytes, str | None], bytes] = field(
        init=False, repr=False, compare=False, default_factory=lambda: Memo(MEMO_SIZE, again=True)
    )
    _seen_answer_headers: Memo[Headers, Headers] = field(
        init=False, repr=False, compare=False, default_factory=lambda: Memo(MEMO_SIZE, again=True)
    )
    """Response headers and bodies redacted lately (small ones, claims kept): an upstream
    answers the same again and again while it is recorded."""
    _seen_answer_bodies: Memo[tuple[bytes, str | None], bytes] = field(
        init=False, repr=False, compare=False, default_factory=lambda: Memo(MEMO_SIZE, again=True)
    )

    # interactions

    def interaction(self, interaction: Interaction) -> Interaction:
        """`interaction` as it may be written. Raises UnredactableBody for a body still in a
        coding virt cannot decode whose readable part holds secrets."""
        request = self.request(interaction.request, refuse=True)
        response = self.response(interaction.response)
        if request is interaction.request and response is interaction.response:
            return interaction
        return replace(interaction, request=request, response=response)

    def request(self, request: Request, *, refuse: bool = False) -> Request:
        """`request` with every secret replaced; the same object when it holds none. A body
        that cannot be redacted is kept for matching, or refused (UnredactableBody) when the
        request is to be written (`refuse`)."""
        path = self._path(request.path)
        headers = self._remembered(
            self._seen_headers,
            request.headers,
            lambda: self._headers(request.headers, keep_claims=False),
            sum(len(n) + len(v) for n, v in request.headers),
        )
        query = self._remembered(
            self._seen_queries,
            request.query,
            lambda: self._pairs(request.query, keep_claims=False),
            len(request.query),
        )
        plain, coding = self._coded(
            request.body, request.headers, request.encoding, "request" if refuse else ""
        )
        ctype = header(request.headers, "content-type")
        body = self._remembered(
            self._seen_bodies,
            (plain, ctype),
            lambda: self._body(plain, request.headers, keep_claims=False),
            len(plain),
        )
        if body == plain:  # nothing to redact: the body stays as it came, coded or not
            body, coding = request.body, request.encoding
        old = (request.path, request.headers, request.query, request.body)
        if (path, headers, query, body) == old:
            return request
        return replace(request, path=path, headers=headers, query=query, body=body, encoding=coding)

    @staticmethod
    def _remembered(memo: Memo[Any, Any], key: Any, work: Callable[[], Any], size: int) -> Any:
        """`work()`, remembered under `key` when the part is small: the same headers, query and
        body come back request after request."""
        if size > MEMO_PART:
            return work()
        found = memo.get(key)
        if found is None:
            found = work()
            memo.put(key, found)
        return found

    def response(self, response: Response) -> Response:
        headers = self._remembered(
            self._seen_answer_headers,
            response.headers,
            lambda: self._headers(response.headers, keep_claims=True),
            sum(len(n) + len(v) for n, v in response.headers),
        )
        plain, coding = self._coded(response.body, response.headers, response.encoding, "response")
        body = self._remembered(
            self._seen_answer_bodies,
            (plain, header(response.headers, "content-type")),
            lambda: self._body(plain, response.headers, keep_claims=True),
            len(plain),
        )
        if body == plain:  # nothing to redact: the body stays as it came, coded or not
            body = response.body
        if (headers, body) == (response.headers, response.body):
            return response
        if body == response.body:  # the wire bytes still hold it exactly
            return replace(response, headers=headers)
        return replace(response, headers=headers, body=body, encoding=coding, wire_body=None)
