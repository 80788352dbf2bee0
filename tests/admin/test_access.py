"""Without a token, the admin API answers this machine's programs and refuses web pages."""

from __future__ import annotations

import pytest

from virt.admin.access import browser_refusal, upload_refusal


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8000", "LOCALHOST:1", "127.0.0.1", "127.0.0.1:8000", "127.3.4.5:9",
     "[::1]", "[::1]:8000", "[0:0:0:0:0:0:0:1]:80"],
)  # fmt: skip
def test_a_loopback_host_with_any_port_passes(host: str) -> None:
    assert browser_refusal({"host": host}) is None


@pytest.mark.parametrize(
    "host",
    ["attacker.example", "attacker.example:8000", "10.0.0.1:8000", "[::2]:8000",
     "localhost.attacker.example", "127.0.0.1.nip.io:8000", "0.0.0.0:8000"],
)  # fmt: skip
def test_a_host_that_is_not_this_machine_is_refused_naming_the_fix(host: str) -> None:
    why = browser_refusal({"host": host})
    assert why is not None
    assert why.startswith(f"Host {host!r} is not this machine")
    assert "--admin-token or VIRT_ADMIN_TOKEN" in why


def test_the_host_virt_was_started_with_passes() -> None:
    assert browser_refusal({"host": "virt.test:80"}, started_host="virt.test") is None
    assert browser_refusal({"host": "[::1]:80"}, started_host="::1") is None


def test_a_request_without_host_or_origin_passes() -> None:
    assert browser_refusal({}) is None


def test_the_servers_own_origin_passes() -> None:
    assert browser_refusal({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"}) is None
    headers = {"host": "127.0.0.1:8000", "sec-fetch-site": "same-origin"}
    assert browser_refusal(headers) is None
    assert browser_refusal({"host": "localhost:8000", "sec-fetch-site": "none"}) is None


@pytest.mark.parametrize(
    "origin",
    ["http://attacker.example", "null", "http://localhost:3000", "https://127.0.0.1:8000",
     "http://localhost:8000", "http://127.0.0.1:8000/x"],
)  # fmt: skip
def test_another_origin_is_refused_even_on_loopback(origin: str) -> None:
    why = browser_refusal({"host": "127.0.0.1:8000", "origin": origin})
    assert why is not None
    assert why.startswith(f"Origin {origin!r} is another site")
    assert "admin token" in why


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_sec_fetch_site_from_another_site_is_refused(site: str) -> None:
    why = browser_refusal({"host": "127.0.0.1:8000", "sec-fetch-site": site})
    assert why is not None
    assert why.startswith(f"Sec-Fetch-Site: {site}")


def test_a_long_hostile_header_is_shown_short() -> None:
    why = browser_refusal({"host": "a" * 10_000 + ".example"})
    assert why is not None
    assert len(why) < 400


@pytest.mark.parametrize(
    "content_type",
    ["application/octet-stream", "application/json", "application/x-yaml", "application/zip"],
)
def test_uploads_typed_as_files_pass(content_type: str) -> None:
    assert upload_refusal(content_type) is None


@pytest.mark.parametrize(
    "content_type",
    [None, "", "text/plain", "TEXT/PLAIN;charset=utf-8", "application/x-www-form-urlencoded",
     "multipart/form-data; boundary=--x"],
)  # fmt: skip
def test_uploads_typed_as_a_browser_sends_them_unasked_are_refused(
    content_type: str | None,
) -> None:
    why = upload_refusal(content_type)
    assert why is not None
    assert "application/octet-stream" in why


@pytest.mark.parametrize("origin", ["http://[", "http://127.0.0.1:99999999999", "http:", ""])
def test_a_malformed_origin_is_refused_not_a_crash(origin: str) -> None:
    why = browser_refusal({"host": "127.0.0.1:8000", "origin": origin})
    assert why is not None
    assert why.startswith("Origin ")
