"""The baseline: a bare Starlette app answering the workload from a dict, on uvicorn as fast as
it goes (uvloop, httptools, one worker, no access log).

    python -m bench.baseline PORT HAR_FILE
"""

from __future__ import annotations

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


def main(port: int, har: Path) -> None:
    uvicorn.run(
        create(har),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        workers=1,
        log_config=None,
        access_log=False,
        server_header=False,
        date_header=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
