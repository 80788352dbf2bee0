"""mitmproxy HTTPFlow <-> Interaction, both directions."""

from __future__ import annotations

import time

from mitmproxy import http

from virt import encoding
from virt.limits import DEFAULT_MAX_BODY
from virt.mitm import MAX_BODY
from virt.model import Headers, Interaction, Request, Response, Timings, header, iso_utc, url_text


def _headers(h: http.Headers) -> Headers:
    return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in h.fields)


def _fields(headers: Headers) -> http.Headers:
    return http.Headers([(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers])


def to_request(req: http.Request, limit: int = DEFAULT_MAX_BODY) -> Request:
    """The model of a mitmproxy request; the body decoded from its Content-Encoding.

    Raises encoding.BodyTooLarge when the body decodes past `limit`.
    """
    headers = _headers(req.headers)
    raw = req.raw_content or b""
    body, coding = encoding.decode_body(raw, header(headers, "content-encoding"), limit)
    path, _, query = url_text(req.data.path).partition("?")
    return Request(
        method=req.method,
        scheme=req.scheme,
        host=req.host,
        port=req.port,
        path=path,
        query=query,
        headers=headers,
        body=body,
        encoding=coding,
        http_version=req.http_version,
    )


def to_response(resp: http.Response, limit: int = DEFAULT_MAX_BODY) -> Response:
    headers = _headers(resp.headers)
    raw = resp.raw_content or b""
    body, coding = encoding.decode_body(raw, header(headers, "content-encoding"), limit)
    return Response(
        status=resp.status_code,
        reason=resp.reason,
        headers=headers,
        body=body,
        encoding=coding,
        wire_body=raw if coding else None,
        http_version=resp.http_version,
    )


def to_interaction(flow: http.HTTPFlow, session: str) -> Interaction:
    """The Interaction a finished flow recorded. The flow must have a response.

    Bodies decode within the limit the flow carries (MAX_BODY, set by mitm.bounds.BodyBounds);
    past it, encoding.BodyTooLarge.
    """
    assert flow.response is not None
    req, resp = flow.request, flow.response
    limit = flow.metadata.get(MAX_BODY, DEFAULT_MAX_BODY)
    return Interaction(
        request=to_request(req, limit),
        response=to_response(resp, limit),
        session=session,
        recorded_at=iso_utc(req.timestamp_start),
        timings=Timings(
            request_start=req.timestamp_start,
            request_end=req.timestamp_end,
            response_start=resp.timestamp_start,
            response_end=resp.timestamp_end,
        ),
    )


def make_response(
    status: int, reason: str, headers: Headers, body: bytes, http_version: str = "HTTP/1.1"
) -> http.Response:
    """A mitmproxy response carrying exactly `headers` and `body` (body already wire-encoded)."""
    now = time.time()
    return http.Response(
        http_version=http_version.encode(),
        status_code=status,
        reason=reason.encode("latin-1", "replace"),
        headers=_fields(headers),
        content=body,
        trailers=None,
        timestamp_start=now,
        timestamp_end=now,
    )
