"""BodyBounds, the mitmproxy addon that holds every body to virt's size limit, coded or not."""

from __future__ import annotations

import asyncio
import logging

from mitmproxy import http

from virt import encoding
from virt.limits import DEFAULT_MAX_BODY, too_large
from virt.mitm import MAX_BODY, REPLAYED
from virt.mitm.convert import make_response

log = logging.getLogger("virt.limits")


def bounds_options(max_body: int) -> dict[str, str]:
    """mitmproxy options for `max_body`: its body_size_limit refuses a larger request with 413
    (from Content-Length before reading it, or as a chunked body grows) and a larger response
    with 502, before buffering it."""
    return {"body_size_limit": f"{max_body}b"}


class BodyBounds:
    """Tags each flow with the limit its bodies decode within, and refuses with 413 a request
    whose body decodes past it before it reaches the upstream (a zip bomb, a stack of codings).

    Put it before the Recorder: a refused flow is marked REPLAYED, an answer virt made itself.
    """

    def __init__(self, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.max_body = max_body

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        flow.metadata[MAX_BODY] = self.max_body

    async def request(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        coding = req.headers.get("content-encoding")
        if flow.response is not None or not req.raw_content or not coding:
            return
        try:
            # decoding is CPU work: off the event loop
            await asyncio.to_thread(encoding.decode_body, req.raw_content, coding, self.max_body)
        except encoding.BodyTooLarge as e:
            log.warning("refused %s %s: %s", req.method, req.pretty_url, e)
            flow.metadata[REPLAYED] = True
            flow.response = refusal(self.max_body, str(e).removeprefix("body "))


def refusal(limit: int, what: str) -> http.Response:
    """The 413 both doors and the recorder send for a body past `limit`."""
    body = too_large(limit, what).encode()
    return make_response(
        413,
        "Content Too Large",
        (("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))),
        body,
    )
