"""The baseline: a bare Starlette app answering the workload from a dict, on uvicorn as fast as
it goes (uvloop, httptools, one worker, no access log).

    python -m bench.baseline PORT HAR_FILE [WORKERS]

With WORKERS above 1 (row 4's note: how the bare app itself scales on the machine), uvicorn's
worker processes each read the HAR file named by BENCH_BARE_HAR.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import workload

HEADERS = {"Content-Type": "application/json"}


def create(har: Path) -> Starlette:
    """The app, answering each entry of `har` by method, path, query and body."""
    answers = {e.key: e.answer for e in workload.read_har(har)}

    async def answer(request: Request) -> Response:
        key = (request.method, request.url.path, request.url.query, await request.body())
        body = answers.get(key)
        if body is None:
            return Response(status_code=404)
        # Response adds Content-Length, as the recordings carry it
        return Response(body, headers=HEADERS)

    methods = ["GET", "POST"]
    return Starlette(routes=[Route("/{rest:path}", answer, methods=methods)])


def from_env() -> Starlette:
    """The app of a worker process (uvicorn imports it by name there)."""
    return create(Path(os.environ["BENCH_BARE_HAR"]))


def main(port: int, har: Path, workers: int = 1) -> None:
    options = {
        "host": "127.0.0.1",
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "workers": workers,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "date_header": False,
        "lifespan": "off",
    }
    if workers > 1:
        os.environ["BENCH_BARE_HAR"] = str(har)
        uvicorn.run("bench.baseline:from_env", factory=True, **options)  # type: ignore[arg-type]
    else:
        uvicorn.run(create(har), **options)  # type: ignore[arg-type]


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
