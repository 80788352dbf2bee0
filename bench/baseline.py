"""The baseline: a bare Starlette app answering the benchmark's request paths from a dict, on
uvicorn run the way `virt serve` runs it.

    python -m bench.baseline PORT PATHS_FILE
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import data


def create(paths: Path) -> Starlette:
    targets = paths.read_text().split()
    bodies = {t: data.body(data.number(t)) for t in targets}
    headers = dict(data.RESPONSE_HEADERS)

    async def answer(request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        body = bodies.get(target)
        if body is None:
            return Response(status_code=404)
        return Response(body, headers=headers)

    return Starlette(routes=[Route("/{rest:path}", answer)])


def main(port: int, paths: Path) -> None:
    config = uvicorn.Config(
        create(paths),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        date_header=False,
        lifespan="off",
    )
    # virt serve awaits Server.serve() under asyncio.run, so uvicorn's loop="auto" (uvloop) never
    # applies to it; the baseline gets the same plain asyncio loop and the same HTTP parser
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
