"""Scan: one detector serves redaction and `virt scan`, so a scan finds something exactly when
redaction would change something, and never shows a secret whole."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.redact.secrets import SECRETS, planted
from virt.model import Interaction, Request, Response
from virt.redact import Redactor
from virt.redact.scan import scan

KEY = b"k" * 32
NAMES = [
    "password",
    "clientSecret",
    "access-token",
    "secret",
    "signature",
    "code",
    "name",
    "url",
    "X-Auth-Key",
    "X-RapidAPI-Key",
    "Accept",
]
VALUES = [
    *SECRETS.values(),
    "*****",
    "https://example.com/a.png",
    "2026-01-01",
    "ada",
    "Password is too short.",
    "",
]


@st.composite
def interactions(draw: st.DrawFn) -> Interaction:
    names = st.sampled_from(NAMES)
    values = st.sampled_from(VALUES) | st.text(max_size=20)
    pairs = draw(st.lists(st.tuples(names, values), max_size=4))
    members = ", ".join(f'"{k}": "{v}"' for k, v in pairs if '"' not in v and "\\" not in v)
    body = ("{" + members + "}").encode("utf-8", "surrogatepass")
    segment = draw(st.sampled_from(["users", SECRETS["stripe"], SECRETS["access-jwt"], "a b"]))
    query = "&".join(f"{k}={v}" for k, v in draw(st.lists(st.tuples(names, values), max_size=3)))
    headers = tuple(
        (k, v.replace("\n", " "))
        for k, v in draw(st.lists(st.tuples(names, st.sampled_from(VALUES)), max_size=3))
    )
    ctype = ("Content-Type", "application/json")
    return Interaction(
        Request("POST", "https", "h", 443, f"/v1/{segment}", query, (ctype, *headers), body),
        Response(200, "OK", (ctype,), body),
    )


@settings(max_examples=300, deadline=None)
@given(interactions())
def test_scan_finds_something_exactly_when_redaction_changes_something(i: Interaction) -> None:
    redacted = Redactor(KEY).interaction(i)
    found = scan(i)
    assert bool(found) == (redacted != i), (found, i)
    assert scan(redacted) == []
    for f in found:
        for secret in SECRETS.values():
            assert secret not in f.excerpt or len(secret) <= 4


def test_scan_names_where_each_planted_secret_is() -> None:
    places = {f.where for i in planted() for f in scan(i)}
    assert {"request.path", "request.query", "request.headers.X-Auth-Key"} <= places
    assert "response.body $.clientSecret" in places and "request.query.auth_token" in places
