"""Bodies redacted as text: JSON too deep or not UTF-8 to parse, and bodies still in a
Content-Encoding that capture could not decode."""

from __future__ import annotations

import gzip

import pytest

from virt.model import Interaction, Request, Response
from virt.redact import Redactor
from virt.redact.scan import scan
from virt.redact.text import UnredactableBody, json_depth, json_members, readable_prefix

KEY = b"k" * 32
PASSWORD = b"hunter2-stacked-gzip"
JSON = b'{"user": "ada", "password": "' + PASSWORD + b'"}'


def coded_response(body: bytes, coding: str) -> Interaction:
    """A response as capture keeps one it cannot decode: wire bytes, `encoding` None."""
    headers = (("Content-Type", "application/json"), ("Content-Encoding", coding))
    return Interaction(
        Request("GET", "https", "h", 443, "/me"), Response(200, headers=headers, body=body)
    )


def test_a_stacked_gzip_body_is_decoded_and_redacted_or_refused_never_kept() -> None:
    i = coded_response(gzip.compress(gzip.compress(JSON)), "gzip, gzip")
    try:
        out = Redactor(KEY).interaction(i)
    except UnredactableBody as e:
        assert "gzip, gzip" in str(e) and PASSWORD.decode() not in str(e)
    else:  # virt.encoding reads stacked codings: stored decoded, re-encoded at replay
        assert PASSWORD not in out.response.body and out.response.encoding is not None
        assert b'"user": "ada"' in out.response.body


def test_a_cut_gzip_body_whose_readable_part_holds_a_secret_is_refused() -> None:
    cut = gzip.compress(JSON + b" " * 4000)[:-6]  # its trailer cut short
    with pytest.raises(UnredactableBody) as e:
        Redactor(KEY).interaction(coded_response(cut, "gzip"))
    assert "not valid 'gzip'" in str(e.value) and PASSWORD.decode() not in str(e.value)


def test_a_cut_gzip_body_without_secrets_is_kept_as_it_came() -> None:
    i = coded_response(gzip.compress(b'{"user": "ada"}' + b" " * 4000)[:-20], "gzip")
    assert Redactor(KEY).interaction(i) is i
    assert scan(i) == []


def test_the_readable_prefix_of_a_cut_body_is_what_inflates() -> None:
    data = b"x" * 100_000
    assert readable_prefix(gzip.compress(data)[:-8], "gzip") == data
    assert readable_prefix(gzip.compress(gzip.compress(data)), "gzip, gzip") == data
    assert readable_prefix(b"not gzip at all", "gzip") == b""
    assert readable_prefix(b"\x00" * 10, "br") == b""


def test_json_depth_is_measured_without_recursion() -> None:
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    assert json_depth(deep) > 100
    assert json_depth({"a": [1, {"b": 2}]}) == 3
    assert json_depth("x") == 0


def test_json_members_read_as_text_replace_only_what_is_asked() -> None:
    text = '{"a": "1", "pw": "s\\"ecret", "n": 42, "b": true}'
    out = json_members(text, lambda name, value: "X" if name in ("pw", "n") else None)
    assert out == '{"a": "1", "pw": "X", "n": "X", "b": true}'


def test_a_request_only_matched_keeps_a_body_that_cannot_be_redacted() -> None:
    cut = gzip.compress(JSON + b" " * 4000)[:-6]
    headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
    request = Request("POST", "https", "h", 443, "/login", "", headers, cut)
    assert Redactor(KEY).request(request) is request  # replay matches it, writes nothing
    with pytest.raises(UnredactableBody):
        Redactor(KEY).interaction(Interaction(request, Response(204)))


def test_scan_reports_a_body_that_cannot_be_redacted_and_reads_one_that_decodes() -> None:
    cut = coded_response(gzip.compress(JSON + b" " * 4000)[:-6], "gzip")
    [finding] = scan(cut)
    assert (finding.where, finding.kind) == ("response.body", "unredactable body")
    assert PASSWORD.decode() not in finding.excerpt
    whole = coded_response(gzip.compress(JSON), "gzip")  # imported raw: decodes here
    [finding] = scan(whole)
    assert finding.where == "response.body $.password" and finding.excerpt.startswith("hunt")
    assert scan(Redactor(KEY).interaction(whole)) == []


def test_a_coded_body_without_secrets_keeps_its_wire_bytes() -> None:
    i = coded_response(gzip.compress(b'{"user": "ada"}'), "gzip")  # decodes, holds nothing
    assert Redactor(KEY).interaction(i) is i


def test_a_coded_body_that_decodes_past_the_bound_is_refused_and_reported() -> None:
    bomb = gzip.compress(b"\0" * (300 * 1024 * 1024))  # 300 MiB from about 300 KiB
    i = coded_response(bomb, "gzip")
    with pytest.raises(UnredactableBody) as e:
        Redactor(KEY).interaction(i)
    assert "cannot be looked into" in str(e.value)
    [finding] = scan(i)
    assert finding.kind == "unredactable body"


def test_server_sent_events_lose_secret_members_and_keep_thinking_signatures() -> None:
    body = (
        b'event: content_block_delta\ndata: {"type": "content_block_delta", "delta": '
        b'{"type": "signature_delta", "signature": "EqQBCkgIARABGAIiQL0123456789abc"}}\n\n'
        b'event: session\ndata: {"session": {"accessToken": "sse-at-5d4c3b2a1f0e"}}\n\n'
    )
    i = Interaction(
        Request("GET", "https", "h", 443, "/v1/stream"),
        Response(200, headers=(("Content-Type", "text/event-stream"),), body=body),
    )
    out = Redactor(KEY).interaction(i).response.body
    assert b"sse-at-5d4c3b2a1f0e" not in out and b'"accessToken": "<secret:' in out
    assert b'"signature": "EqQBCkgIARABGAIiQL0123456789abc"' in out
    assert [f.where for f in scan(i)] == ["response.body"]
