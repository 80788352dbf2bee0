"""Values that look real: strings by format and field name, numbers by field name, regex samples.

Faker makes the names, emails, cities and sentences; it is created once, lazily (it takes tens of
milliseconds), and seeded before every value from the caller's own random.Random, under a lock,
so a value depends only on that seed: the same on every machine and process for one installed
Faker. Dates, uuids, addresses and ids come from the Random directly, inside fixed ranges (never
from the clock).
"""

from __future__ import annotations

import base64
import datetime
import functools
import importlib
import random
import re
import string
import threading
import uuid
from collections.abc import Callable
from typing import Any

from faker import Faker

EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
SPAN_SECONDS = 6 * 365 * 86400
"""Generated dates and times fall in 2020-2025, whatever today is."""

_faker: Faker | None = None
_faker_lock = threading.Lock()


def _fake(rng: random.Random, method: str) -> str:
    """Faker's `method`, seeded from `rng`: one shared Faker, one value at a time."""
    with _faker_lock:
        return str(getattr(_seeded(rng), method)())


def _seeded(rng: random.Random) -> Faker:
    """The shared Faker, seeded from `rng`; the caller holds _faker_lock."""
    global _faker
    if _faker is None:
        # uniform picks: ten times faster than Faker's weighted ones, and as real-looking
        _faker = Faker("en_US", use_weighting=False)
    _faker.seed_instance(rng.getrandbits(64))
    return _faker


def moment(rng: random.Random) -> datetime.datetime:
    return EPOCH + datetime.timedelta(seconds=rng.randrange(SPAN_SECONDS))


def date_time(rng: random.Random) -> str:
    return moment(rng).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def ident(rng: random.Random) -> str:
    """An id the way APIs write them: a short prefix and hex, "id_3f9a0c12b7e4"."""
    return "id_" + _hex(rng, 12)


FORMATS: dict[str, Callable[[random.Random], str]] = {
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "date-time": date_time,
    "date": lambda rng: moment(rng).date().isoformat(),
    "time": lambda rng: moment(rng).strftime("%H:%M:%SZ"),
    "email": lambda rng: _fake(rng, "email"),
    "idn-email": lambda rng: _fake(rng, "email"),
    "uri": lambda rng: _fake(rng, "url"),
    "url": lambda rng: _fake(rng, "url"),
    "iri": lambda rng: _fake(rng, "url"),
    "uri-reference": lambda rng: "/" + _fake(rng, "slug"),
    "hostname": lambda rng: _fake(rng, "domain_name"),
    "idn-hostname": lambda rng: _fake(rng, "domain_name"),
    "ipv4": lambda rng: ".".join(
        str(rng.randint(1, 223) if i == 0 else rng.randrange(256)) for i in range(4)
    ),
    "ipv6": lambda rng: _fake(rng, "ipv6"),
    "byte": lambda rng: base64.b64encode(rng.randbytes(12)).decode(),
    "duration": lambda rng: f"PT{rng.randint(1, 59)}M",
}
"""String formats generated to validate under jsonschema's format checker."""


def _snake(name: str) -> str:
    """ "avatarURL", "firstName", "First-Name" as avatar_url, first_name, first_name."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _full_name(rng: random.Random) -> str:
    return f"{_fake(rng, 'first_name')} {_fake(rng, 'last_name')}"


def _title(rng: random.Random) -> str:
    return _fake(rng, "sentence").rstrip(".")


_BY_NAME: list[tuple[re.Pattern[str], Callable[[random.Random], str]]] = [
    (re.compile(p), f)
    for p, f in [
        (r"(^|_)e_?mail(_address)?$", FORMATS["email"]),
        (r"(^|_)(uuid|guid)$", FORMATS["uuid"]),
        (r"(^|_)(ur[li]|href|link|website|homepage)$", FORMATS["uri"]),
        (r"(^|_)(id|ids|key|identifier)$", ident),
        (r"(^|_)(first_name|given_name|firstname)$", lambda rng: _fake(rng, "first_name")),
        (r"(^|_)(last_name|family_name|surname|lastname)$", lambda rng: _fake(rng, "last_name")),
        (
            r"(^|_)(user_?name|login|handle|nickname|screen_name)$",
            lambda rng: _fake(rng, "user_name"),
        ),
        (
            r"(^|_)(full_name|display_name|name|author|owner|contact|assignee)$",
            _full_name,
        ),
        (
            r"(^|_)(company|organi[sz]ation|org|employer|vendor|merchant)(_name)?$",
            lambda rng: _fake(rng, "company"),
        ),
        (r"(^|_)(city|town)$", lambda rng: _fake(rng, "city")),
        (r"(^|_)country_code$", lambda rng: _fake(rng, "country_code")),
        (r"(^|_)country$", lambda rng: _fake(rng, "country")),
        (r"(^|_)(zip|zip_code|postal_code|postcode)$", lambda rng: _fake(rng, "postcode")),
        (
            r"(^|_)(address|street|street_address|line1|address_line1)$",
            lambda rng: _fake(rng, "street_address"),
        ),
        (
            r"(^|_)(phone|phone_number|mobile|tel|telephone|fax)$",
            lambda rng: _fake(rng, "phone_number"),
        ),
        (r"(^|_)(title|subject|headline|label|caption|heading)$", _title),
        (
            r"(^|_)(description|summary|bio|about|text|content|body|message|comment|note|notes"
            r"|details|reason|instructions|prompt)$",
            lambda rng: _fake(rng, "sentence"),
        ),
        (r"(_at|_on|_time|^timestamp|^time|^created|^updated|^modified|^expires)$", date_time),
        (r"(^|_)(date|birthday|dob|birth_date|day)$", FORMATS["date"]),
        (r"(^|_)currency$", lambda rng: _fake(rng, "currency_code").lower()),
        (r"(^|_)(language|locale|lang)$", lambda rng: _fake(rng, "language_code")),
        (r"(^|_)(timezone|tz|time_zone)$", lambda rng: _fake(rng, "timezone")),
        (r"(^|_)colou?r$", lambda rng: _fake(rng, "color_name")),
        (
            r"(^|_)(token|secret|password|hash|sha|signature|etag|checksum|digest|api_key)$",
            lambda rng: _hex(rng, 40),
        ),
        (r"(^|_)(ip|ip_address|remote_addr|ipv4)$", FORMATS["ipv4"]),
        (
            r"(^|_)version$",
            lambda rng: f"{rng.randint(1, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        ),
        (r"(^|_)slug$", lambda rng: _fake(rng, "slug")),
        (r"(^|_)(domain|hostname|host)$", FORMATS["hostname"]),
        (r"(^|_)(user_agent)$", lambda rng: _fake(rng, "user_agent")),
        (r"(^|_)(content_type|mime_type|media_type)$", lambda rng: "application/json"),
        (r"(^|_)state$", lambda rng: _fake(rng, "state")),
        (r"(^|_)(street_name)$", lambda rng: _fake(rng, "street_name")),
    ]
]


def text(rng: random.Random, name: str, fmt: str | None) -> str:
    """A string that looks like what a field called `name` with format `fmt` holds."""
    return _maker(name, fmt)(rng)


@functools.lru_cache(maxsize=4096)
def _maker(name: str, fmt: str | None) -> Callable[[random.Random], str]:
    if fmt in FORMATS:
        return FORMATS[fmt]
    snake = _snake(name)
    if snake:
        for pattern, make in _BY_NAME:
            if pattern.search(snake):
                return make
    return _word


def _word(rng: random.Random) -> str:
    return _fake(rng, "word")


def filler(rng: random.Random, n: int) -> str:
    """At least `n` characters of words, to lengthen a string to its minLength."""
    with _faker_lock:
        words: list[str] = _seeded(rng).words(nb=n // 4 + 1)
    text = "-".join(words)
    while len(text) < n:
        text += "-" + text
    return text


def fit(value: str, rng: random.Random, fmt: str | None, low: int, high: int) -> str:
    """`value` made `low` to `high` characters long, keeping its format where one that long
    exists: an email keeps its "@", a uri its scheme, an address its four numbers."""
    if low <= len(value) <= high:
        return value
    want = min(max(len(value), low), high)
    if fmt in ("email", "idn-email"):
        domain = "@example.com" if want >= 13 else "@x.io" if want >= 6 else "@x"
        local = re.sub(r"[^a-z0-9]", "", value.split("@")[0]) or "a"
        local = (local + filler(rng, want))[: max(1, want - len(domain))]
        return (local + domain)[:high]
    if fmt in ("uri", "url", "iri"):
        base = (
            value.rstrip("/")
            if len(value) <= want
            else "https://example.com"
            if want >= 19
            else "a://b"
        )
        return (base + "/" + filler(rng, want))[:want] if len(base) < want else base[:high]
    if fmt == "ipv4" and 7 <= want <= 15:
        return _ipv4_of_length(rng, want)
    return (value + "-" + filler(rng, want))[:want] if len(value) < want else value[:want]


def _ipv4_of_length(rng: random.Random, n: int) -> str:
    """A dotted quad of exactly `n` characters (7 to 15)."""
    digits = n - 3
    sizes = [1, 1, 1, 1]
    for _ in range(digits - 4):
        sizes[rng.choice([i for i in range(4) if sizes[i] < 3])] += 1
    low = {1: 0, 2: 10, 3: 100}
    high = {1: 9, 2: 99, 3: 255}
    parts = [rng.randint(max(low[k], 1 if i == 0 else 0), high[k]) for i, k in enumerate(sizes)]
    return ".".join(map(str, parts))


_INT_RANGES: list[tuple[re.Pattern[str], tuple[int, int]]] = [
    (re.compile(p), r)
    for p, r in [
        (r"(_at|^timestamp|^created|^updated|^expires)$", (1577836800, 1577836800 + SPAN_SECONDS)),
        (r"(^|_)(count|total|size|limit|quantity|qty|per_page|page_size)$", (1, 100)),
        (r"(^|_)(page|offset|index|position|rank)$", (1, 20)),
        (r"(^|_)(amount|price|cost|balance|total_amount|unit_amount|subtotal)$", (100, 100_000)),
        (r"(^|_)age$", (18, 90)),
        (r"(^|_)year$", (2000, 2025)),
        (r"(^|_)port$", (1024, 65535)),
        (r"(^|_)(id|number)$", (1, 1_000_000)),
        (r"(^|_)(status_code|http_status)$", (200, 200)),
    ]
]


@functools.lru_cache(maxsize=4096)
def int_range(name: str, fmt: str | None) -> tuple[int, int]:
    """Where an integer called `name` usually falls, when the schema sets no bounds."""
    if fmt == "unixtime":
        return _INT_RANGES[0][1]
    snake = _snake(name)
    for pattern, bounds in _INT_RANGES:
        if snake and pattern.search(snake):
            return bounds
    return (1, 1000)


# re's own parser and its constants: patterns are followed without a regex library
_sre: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")
_MAX_REPEAT_EXTRA = 3
_PRINTABLE = string.ascii_letters + string.digits + "_-"


def from_pattern(pattern: str, rng: random.Random) -> str | None:
    """A string `pattern` finds (re.search), from the pattern's parse tree; None when it uses
    something this does not follow (lookarounds, backreferences) or the result does not match."""
    try:
        tree = _sre.parse(pattern)
        out = _emit(tree, rng, {})
        if re.search(pattern, out) is None:
            return None
    except (re.error, _Unsupported, OverflowError, RecursionError):
        return None
    return out


class _Unsupported(Exception):
    pass


def _emit(items: Any, rng: random.Random, groups: dict[int, str]) -> str:
    c = _c
    out: list[str] = []
    for op, arg in items:
        if op is c.LITERAL:
            out.append(chr(arg))
        elif op is c.NOT_LITERAL:
            out.append(next(ch for ch in _PRINTABLE if ord(ch) != arg))
        elif op is c.ANY:
            out.append(rng.choice(string.ascii_lowercase))
        elif op is c.IN:
            out.append(_one_of(arg, rng, c))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            top = (
                low + _MAX_REPEAT_EXTRA
                if high is c.MAXREPEAT
                else min(high, low + _MAX_REPEAT_EXTRA)
            )
            if low > 4096:
                raise _Unsupported
            out.extend(_emit(sub, rng, groups) for _ in range(rng.randint(low, top)))
        elif op is c.SUBPATTERN:
            group, _, _, sub = arg
            made = _emit(sub, rng, groups)
            if group is not None:
                groups[group] = made
            out.append(made)
        elif op is c.BRANCH:
            out.append(_emit(rng.choice(arg[1]), rng, groups))
        elif op is c.AT:
            continue
        elif op is c.GROUPREF and arg in groups:
            out.append(groups[arg])
        else:
            raise _Unsupported
    return "".join(out)


def _one_of(items: Any, rng: random.Random, c: Any) -> str:
    """One character of a [...] set."""
    allowed: list[str] = []
    negate = False
    for op, arg in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            allowed.append(chr(arg))
        elif op is c.RANGE:
            low, high = arg
            allowed.extend(chr(x) for x in range(low, min(high, low + 256) + 1))
        elif op is c.CATEGORY:
            allowed.extend(
                {
                    c.CATEGORY_DIGIT: string.digits,
                    c.CATEGORY_WORD: _PRINTABLE[:-1],
                    c.CATEGORY_SPACE: " ",
                    c.CATEGORY_NOT_DIGIT: string.ascii_letters,
                    c.CATEGORY_NOT_WORD: "-",
                    c.CATEGORY_NOT_SPACE: string.ascii_letters,
                }.get(arg, "")
            )
        else:
            raise _Unsupported
    if negate:
        choices = [ch for ch in _PRINTABLE if ch not in allowed]
        if not choices:
            raise _Unsupported
        return rng.choice(choices)
    if not allowed:
        raise _Unsupported
    return rng.choice(allowed)
