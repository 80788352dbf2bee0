"""Run the engine over a list of requests and print what it chose, as JSON on stdout.

    python -m tests.match.choices DB REQUESTS.json

Used by the determinism tests to compare choices made in separate processes (each with its own
hash seed) against a real database.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import orjson

from virt.match.engine import Engine
from virt.model import Request
from virt.store import Store


def request_to_json(r: Request) -> dict[str, Any]:
    return {
        "method": r.method,
        "scheme": r.scheme,
        "host": r.host,
        "port": r.port,
        "path": r.path,
        "query": r.query,
        "headers": [list(h) for h in r.headers],
        "body": base64.b64encode(r.body).decode(),
    }


def request_from_json(d: dict[str, Any]) -> Request:
    return Request(
        d["method"],
        d["scheme"],
        d["host"],
        d["port"],
        d["path"],
        d["query"],
        tuple((k, v) for k, v in d["headers"]),
        base64.b64decode(d["body"]),
    )


def choices(db: Path, requests: list[Request]) -> list[dict[str, Any]]:
    """What a fresh engine answers to `requests`, sent in order, in one session."""
    store = Store.open(db, readonly=True)
    try:
        engine = Engine(store)
        out = []
        for request in requests:
            match = engine.match(request, session="s")
            interaction = match.interaction
            out.append(
                {
                    "match": match.header_value,
                    "id": interaction.id if interaction else None,
                    "body": base64.b64encode(interaction.response.body).decode()
                    if interaction
                    else None,
                    "explain": match.explain(),
                }
            )
        return out
    finally:
        store.close()


if __name__ == "__main__":
    db, path = Path(sys.argv[1]), Path(sys.argv[2])
    requests = [request_from_json(d) for d in orjson.loads(path.read_bytes())]
    sys.stdout.buffer.write(orjson.dumps(choices(db, requests)))
