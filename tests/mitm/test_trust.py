"""Which variable a client needs, by its User-Agent, and when a failed handshake means distrust."""

from __future__ import annotations

import logging

import pytest

from virt.mitm.trust import SETTINGS, RejectionLog, advice_for, rejection


@pytest.mark.parametrize(
    ("agent", "client", "needs"),
    [
        ("git/2.39.5", "git", "GIT_SSL_CAINFO"),
        ("curl/7.88.1", "curl", "CURL_CA_BUNDLE"),
        ('pip/24.0 {"ci":null,"cpu":"x86_64"}', "pip", "PIP_CERT"),
        ("python-requests/2.32.3", "Python requests", "REQUESTS_CA_BUNDLE"),
        ("Python/3.11 aiohttp/3.9.5", "Python", "SSL_CERT_FILE"),
        ("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1", "boto3", "AWS_CA_BUNDLE"),
        ("aws-cli/2.15.0 Python/3.11.6 Linux/6.1", "the AWS CLI", "AWS_CA_BUNDLE"),
        ("Java/17.0.15", "Java", "-Djavax.net.ssl.trustStore"),
        ("Go-http-client/1.1", "Go", "SSL_CERT_FILE"),
        ("Ruby", "Ruby", "SSL_CERT_FILE"),
        ("node", "Node", "NODE_EXTRA_CA_CERTS"),
        ("Deno/1.45.0", "Deno", "DENO_CERT"),
    ],
)
def test_a_known_user_agent_names_the_variable_its_client_reads(
    agent: str, client: str, needs: str
) -> None:
    advice = advice_for(agent)
    assert advice.client == client
    assert needs in advice.needs


@pytest.mark.parametrize("agent", [None, "", "SomethingElse/1.0", "   "])
def test_an_unknown_client_is_told_every_variable_virt_ca_prints(agent: str | None) -> None:
    advice = advice_for(agent)
    assert advice.client == "a client"
    for setting in SETTINGS:
        assert setting.variable in advice.needs
    assert "Java truststore" in advice.needs


@pytest.mark.parametrize(
    "error",
    [
        "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:2580)",
        "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate (_ssl.c:2580)",
        "[SSL: SSLV3_ALERT_CERTIFICATE_UNKNOWN] sslv3 alert certificate unknown",
        "The client does not trust the proxy's certificate for example.com (...)",
        "The client disconnected during the handshake. If this happens consistently ...",
        "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol",
        "[Errno 104] Connection reset by peer",
    ],
)
def test_handshake_failures_that_mean_distrust_are_rejections(error: str) -> None:
    assert rejection(error) is not None


@pytest.mark.parametrize(
    "error",
    [
        "connection closed early",
        "Client and mitmproxy cannot agree on a TLS version to use.",
        "Cannot parse ClientHello: ...",
        "SSL handshake is taking longer than 30.0 seconds: aborting the connection",
    ],
)
def test_handshake_failures_that_say_nothing_of_trust_are_not(error: str) -> None:
    assert rejection(error) is None


def test_one_warning_per_host_and_client_naming_neither_user_agent_nor_more(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hints = RejectionLog("virt record")
    with caplog.at_level(logging.WARNING, logger="virt"):
        for _ in range(3):
            assert hints.failed("api.example.com", "git/2.39.5 token=s3cr3t", "alert unknown ca")
        hints.silent("api.example.com", "git/2.39.5")
        hints.failed("api.example.com", "curl/8.0", "alert unknown ca")
        hints.failed("other.example.com", "git/2.39.5", "alert unknown ca")
        assert not hints.failed("api.example.com", None, "connection closed early")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0].startswith("virt record: git rejected virt's certificate for api.example.com")
    assert "GIT_SSL_CAINFO" in lines[0]
    assert "CURL_CA_BUNDLE" in lines[1]
    assert "other.example.com" in lines[2]
    assert not any("s3cr3t" in line or "git/2" in line for line in lines)


def test_a_host_with_control_characters_is_logged_printable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="virt"):
        RejectionLog("proxy door").failed("evil\r\n.example.com\x1b[2J", None, "unknown ca")
    (line,) = [r.getMessage() for r in caplog.records]
    assert "evil.example.com[2J" in line
    assert "\n" not in line and "\x1b" not in line
