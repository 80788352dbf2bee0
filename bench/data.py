"""The synthetic recordings: one API, two routes, a JSON body per item. No virt imports, so the
bare baseline app serves the very same bytes without loading virt."""

from __future__ import annotations

VERSION = 2
"""Part of each cached database's name: bump it when the recordings below change."""

ORIGIN = ("https", "api.example.com", 443)
REQUEST_HEADERS = (("Accept", "application/json"), ("User-Agent", "bench/1"))
RESPONSE_HEADERS = (("Content-Type", "application/json"), ("Cache-Control", "no-store"))


def target(n: int) -> str:
    """Path and query of recording `n`: /items/{n} and /users/{n}/orders?... alternate, so there
    are two route groups and half the requests carry a query string."""
    if n % 2:
        return f"/users/{n}/orders?page=1&sort=desc"
    return f"/items/{n}"


def body(n: int) -> bytes:
    """The recorded response body of recording `n` (about 160 bytes of JSON)."""
    return (
        f'{{"id": {n}, "name": "item {n}", "price": {n % 997}.{n % 100:02d}, '
        f'"tags": ["bench", "n{n % 10}"], "owner": {{"id": {n * 7 % 100_003}, '
        f'"email": "user{n % 5000}@example.com"}}}}'
    ).encode()


def number(line: str) -> int:
    """The n whose target(n) is `line`."""
    return int(line.split("/")[2])
