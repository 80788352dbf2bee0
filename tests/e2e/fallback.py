"""What the fallback flows share: record a real service through `virt record`, switch it off,
serve the recording with `virt serve`, and check answers against what the recordings show."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jsonschema

from tests.helpers import (
    Upstream,
    VirtProcess,
    clean_env,
    free_port,
    health_ok,
    port_open,
    start_recording,
)

T = TypeVar("T")


def record(
    app: Any, tmp: Path, confdir: Path, drive: Callable[[httpx.Client, str], T]
) -> tuple[Path, T]:
    """Serve `app` on 127.0.0.1, let `drive(client, origin)` call it through `virt record`, then
    stop both: the database and what `drive` returned. The service is off when this returns."""
    upstream = Upstream(app).start()
    db = tmp / "recorded.db"
    recorder, port = start_recording(db, confdir, tmp)
    try:
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", timeout=30) as client:
            result = drive(client, upstream.url)
    finally:
        assert recorder.stop() == 0, recorder.output()
        upstream.stop()
    assert not port_open(upstream.port), "the service must be off during replay"
    return db, result


@contextlib.contextmanager
def serve(
    db: Path, *extra: str, env: dict[str, str] | None = None, proxy_port: int = 0
) -> Iterator[str]:
    """`virt serve` on `db`: the base URL of its direct door, while it runs. The proxy door
    listens on `proxy_port` if one is given, else there is none."""
    port = free_port()
    door = ["--proxy-port", str(proxy_port)] if proxy_port else ["--no-proxy"]
    args = ["serve", "--db", str(db), "--port", str(port), *door, *extra]
    proc = VirtProcess(args, clean_env(**(env or {})), db.parent).start(
        lambda: health_ok(port) and (not proxy_port or port_open(proxy_port))
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        assert proc.stop() == 0, proc.output()


def journal(base: str) -> list[dict[str, Any]]:
    """The journal of the server at `base`, oldest entry first."""
    entries = httpx.get(f"{base}/__virt/journal", params={"limit": 1000}).json()["entries"]
    return list(reversed(entries))


def last_entry(base: str, method: str, path: str) -> dict[str, Any]:
    """The newest journal entry of `method` on a URL whose path (query aside) is `path`."""
    for entry in reversed(journal(base)):
        if entry["method"] == method and httpx.URL(entry["url"]).path == path:
            return entry
    raise AssertionError(f"no journal entry for {method} {path}")


def is_fallback(resp: httpx.Response) -> bool:
    return resp.headers.get("x-virt-match", "").startswith("fallback;source=")


def inferred(samples: Sequence[Any]) -> dict[str, Any]:
    """The JSON Schema virt infers from `samples`, the recorded bodies of one route and status:
    types, properties, required ones, items, nullability, formats and closed sets of strings
    (the ranges and lengths seen are annotations, not constraints: a value that comes from the
    request, such as page 3 where pages 1 and 2 were recorded, lies outside them by design).

    Imported here, not at the top, so that a missing schema layer fails the tests that need
    it, saying so, not the collection of the module."""
    from virt.schema.infer import infer

    return infer(samples)


def assert_valid(schema: dict[str, Any], value: Any) -> None:
    """Fail naming every place where `value` breaks `schema`."""
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def allow_null(schema: dict[str, Any], *names: str) -> dict[str, Any]:
    """`schema` with the top-level properties `names` also allowed to be null.

    Pagination links are the case: recordings of pages that all had a next page never show
    `next: null`, yet null is the only honest `next` of a last page."""
    props = dict(schema.get("properties", {}))
    for name in names:
        props[name] = {"anyOf": [props.get(name, {}), {"type": "null"}]}
    return {**schema, "properties": props}
