"""Credentials fill placeholders from the environment only; nothing with a placeholder is sent."""

from __future__ import annotations

import orjson
import pytest

from virt.config import ConfigFile
from virt.drift.send import Credentials, Skip, fill
from virt.errors import ConfigError
from virt.model import Request

P = "<secret:0a1b2c3d>"
Q = "%3Csecret%3A0a1b2c3d%3E"


def request(**kw: object) -> Request:
    base: dict = {"method": "GET", "scheme": "https", "host": "api.test", "port": 443, "path": "/"}
    return Request(**(base | kw))


def test_a_header_placeholder_is_filled_from_the_variable_named_for_it() -> None:
    creds = Credentials({"authorization": "TOKEN"}, {"TOKEN": "t0k"})
    sent = fill(request(headers=(("Authorization", f"Bearer {P}"),)), creds)
    assert sent.headers == (("Authorization", "Bearer t0k"),)


def test_without_a_table_the_variable_is_virt_drift_and_the_name() -> None:
    creds = Credentials({}, {"VIRT_DRIFT_X_API_KEY": "k"})
    assert fill(request(headers=(("X-Api-Key", P),)), creds).headers == (("X-Api-Key", "k"),)


def test_a_percent_encoded_query_placeholder_is_filled_encoded() -> None:
    creds = Credentials({"key": "K"}, {"K": "a b&c"})
    assert fill(request(query=f"q=1&key={Q}"), creds).query == "q=1&key=a%20b%26c"


def test_a_json_body_field_is_filled_by_its_name() -> None:
    body = orjson.dumps({"client_secret": P, "n": 1})
    creds = Credentials({}, {"VIRT_DRIFT_CLIENT_SECRET": "s"})
    req = request(method="POST", headers=(("Content-Type", "application/json"),), body=body)
    assert orjson.loads(fill(req, creds).body) == {"client_secret": "s", "n": 1}


def test_a_missing_variable_skips_the_request_naming_every_one_missing() -> None:
    req = request(headers=(("Authorization", P),), query=f"key={Q}")
    with pytest.raises(Skip) as e:
        fill(req, Credentials({}, {}))
    assert "header Authorization (VIRT_DRIFT_AUTHORIZATION)" in str(e.value)
    assert "query field key (VIRT_DRIFT_KEY)" in str(e.value)


@pytest.mark.parametrize(
    "req",
    [
        request(path=f"/keys/{Q}"),
        request(method="POST", headers=(("Content-Type", "text/plain"),), body=P.encode()),
    ],
    ids=["path", "opaque-body"],
)
def test_a_placeholder_no_variable_can_fill_is_never_sent(req: Request) -> None:
    with pytest.raises(Skip):
        fill(req, Credentials({}, {"VIRT_DRIFT_AUTHORIZATION": "x"}))


def test_the_credentials_table_names_variables_and_refuses_values() -> None:
    good = ConfigFile(None, {"drift": {"credentials": {"Authorization": "API_TOKEN"}}})
    assert Credentials.from_config(good, {}).variable("authorization") == "API_TOKEN"
    bad = ConfigFile(None, {"drift": {"credentials": {"Authorization": "Bearer abc123"}}})
    with pytest.raises(ConfigError, match="must name an environment variable") as e:
        Credentials.from_config(bad, {})
    assert "abc123" not in str(e.value)


def test_scrub_hides_every_credential_a_run_may_send() -> None:
    creds = Credentials({"authorization": "TOKEN"}, {"TOKEN": "t0ken/1", "VIRT_DRIFT_KEY": "k3y!"})
    said = creds.scrub("GET https://a.test/?key=k3y%21 failed: Bearer t0ken/1")
    assert said == "GET https://a.test/?key=<credential> failed: Bearer <credential>"
