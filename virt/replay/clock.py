"""Shifted time: timestamps in a replayed response move by the time since it was recorded.

With `virt serve --shift-time`, "expires in five minutes" stays true: the Date, Expires and
Last-Modified headers, JSON strings in RFC 3339 / ISO 8601 date-time form (what a JSON Schema
marks as `format: date-time`), and epoch numbers under time-like names (`exp`, `expires_at`,
`createdAt`, `timestamp`…) all move by now minus the recording's time. The bytes around them
are kept.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import orjson

from virt.model import Interaction, header

DATE_HEADERS = ("date", "expires", "last-modified")
_DATETIME = re.compile(r"(\d{4}-\d\d-\d\d)([T ])(\d\d:\d\d:\d\d)(\.\d{1,9})?(Z|z|[+-]\d\d:\d\d)")
_TIME_NAME = re.compile(
    r"((^|_)(exp|iat|nbf|auth_time|expires?|expiry|expiration|timestamp|time|ts|date|"
    r"created|updated|modified|issued|valid_until|not_before|not_after)|(_at|At|_on|On|Time|"
    r"Date|_time|_date|_ts|Timestamp))(_?ms|Ms|_millis|Millis)?$"
)


def epoch(iso: str) -> float | None:
    """An ISO 8601 time (as virt stores recorded_at) as seconds since the epoch."""
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def shift(interaction: Interaction, now: float) -> tuple[Interaction, list[str]]:
    """`interaction` with its response's timestamps moved by now minus its recording time;
    also the fields moved, for the journal."""
    recorded = epoch(interaction.recorded_at)
    if recorded is None:
        return interaction, []
    delta = now - recorded
    resp = interaction.response
    moved: list[str] = []
    headers = []
    for name, value in resp.headers:
        if name.lower() in DATE_HEADERS:
            new = _http_date(value, delta)
            if new != value:
                moved.append(f"header:{name.lower()}")
                value = new
        headers.append((name, value))
    body = resp.body
    ctype = (header(resp.headers, "content-type") or "").lower()
    if body and ("json" in ctype or body.lstrip()[:1] in (b"{", b"[")):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        if data is not None:
            body = _json(body, data, delta, moved)
    if not moved:
        return interaction, []
    new_resp = replace(resp, headers=tuple(headers), body=body, wire_body=None)
    return replace(interaction, response=new_resp), moved


def _http_date(value: str, delta: float) -> str:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return value  # "0", "-1" and other Expires values that mean "already expired"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return format_datetime((when + timedelta(seconds=delta)).astimezone(UTC), usegmt=True)


def _json(raw: bytes, data: Any, delta: float, moved: list[str]) -> bytes:
    """Times in a JSON body moved by `delta`, replaced in place in the original bytes."""
    swaps: list[tuple[bytes, bytes]] = []
    _walk(data, "$", None, delta, swaps, moved)
    out = raw
    for old, new in swaps:
        out = out.replace(old, new)
    return out


def _walk(
    value: Any,
    path: str,
    name: str | None,
    delta: float,
    swaps: list[tuple[bytes, bytes]],
    moved: list[str],
) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(v, f"{path}.{k}", k, delta, swaps, moved)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, f"{path}[{i}]", name, delta, swaps, moved)
    elif isinstance(value, str):
        m = _DATETIME.fullmatch(value)
        if m:
            new = _iso(m, delta)
            if new != value:
                swaps.append((orjson.dumps(value), orjson.dumps(new)))
                moved.append(f"body:{path}")
    elif (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and name is not None
        and _TIME_NAME.search(name)
    ):
        scale = 1.0 if 1e9 <= value < 1e10 else 1000.0 if 1e12 <= value < 1e13 else 0.0
        if scale:
            new_value: int | float = value + delta * scale
            new_value = int(new_value) if isinstance(value, int) else round(new_value, 3)
            key = orjson.dumps(name)
            old_text = orjson.dumps(value)
            swaps.append((key + b":" + old_text, key + b":" + orjson.dumps(new_value)))
            swaps.append((key + b": " + old_text, key + b": " + orjson.dumps(new_value)))
            moved.append(f"body:{path}")


def _iso(m: re.Match[str], delta: float) -> str:
    """A date-time moved by `delta`, written as it was: the same zone and precision."""
    date, sep, clock, fraction, zone = m.groups(default="")
    digits = len(fraction) - 1 if fraction else 0
    parsed = datetime.fromisoformat(
        f"{date}T{clock}{(fraction + '000000')[:7] if fraction else ''}"
        f"{'+00:00' if zone in ('Z', 'z') else zone}"
    )
    moved = parsed + timedelta(seconds=delta)
    out = f"{moved:%Y-%m-%d}{sep}{moved:%H:%M:%S}"
    if digits:
        out += "." + f"{moved.microsecond:06d}"[: min(digits, 6)].ljust(digits, "0")
    if zone in ("Z", "z"):
        return out + zone
    offset = moved.strftime("%z")
    return f"{out}{offset[:3]}:{offset[3:]}"
