"""Recordings databases for the benchmark: generated once per size, then kept in a cache folder.

A cached database is named after its size, the store's SCHEMA_VERSION and a fingerprint of the
keys virt computes today, so a change to the schema or to normalisation builds a fresh one instead
of letting `virt serve` migrate (or miss on) a stale file.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from bench import data
from virt.model import Interaction, Request, Response
from virt.normalize import keys
from virt.store import SCHEMA_VERSION, Store

CACHE = Path(os.environ.get("BENCH_CACHE") or Path(__file__).parent / ".cache")
BATCH = 50_000


def request(n: int) -> Request:
    path, _, query = data.target(n).partition("?")
    scheme, host, port = data.ORIGIN
    return Request("GET", scheme, host, port, path, query, data.REQUEST_HEADERS)


def interaction(n: int) -> Interaction:
    body = data.body(n)
    # as recorded from a real server: with its length, so replay sends it unchunked, as the
    # bare app does
    headers = (*data.RESPONSE_HEADERS, ("Content-Length", str(len(body))))
    response = Response(200, "OK", headers, body)
    return Interaction(request(n), response, session="bench", recorded_at="2026-01-01T00:00:00Z")


def fingerprint() -> str:
    """What a cached database depends on: schema, generator and the keys of both routes."""
    h = hashlib.sha256(f"{SCHEMA_VERSION}\0{data.VERSION}".encode())
    for n in (0, 1):
        h.update(repr(keys(request(n))).encode())
    return h.hexdigest()[:10]


def database(size: int, err: Console) -> tuple[Path, float | None]:
    """The cached database of `size` recordings, and the seconds it took to generate it now
    (None when it was already cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"virt-s{SCHEMA_VERSION}-{fingerprint()}-{size}.db"
    if path.exists():
        return path, None
    for stale in CACHE.glob(f"virt-*-{size}.db*"):
        stale.unlink()  # an older schema or key version: never served again
    partial = path.with_name(path.name + ".partial")
    start = time.perf_counter()
    _build(partial, size, err)
    seconds = time.perf_counter() - start
    os.replace(partial, path)  # a run stopped halfway leaves only .partial, rebuilt next time
    return path, seconds


def _build(path: Path, size: int, err: Console) -> None:
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    store = Store.open(path)
    # a throwaway file until it is renamed: no fsync, and a page cache big enough for the
    # random-order key indexes of a million rows
    store.db.execute("PRAGMA synchronous = OFF")
    store.db.execute("PRAGMA cache_size = -262144")
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(f"generating {size:,} recordings", total=size)
        for first in range(0, size, BATCH):
            batch = []
            for n in range(first, min(first + BATCH, size)):
                i = interaction(n)
                batch.append((i, keys(i.request)))
            store.insert_many(batch)
            progress.advance(task, len(batch))
    store.close()  # checkpoints the WAL into the file and removes it
