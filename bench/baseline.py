"""The baseline: a bare Starlette app on the same uvicorn, answering from a dict."""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODIES = {f"/items/{n}": f'{{"id": {n}, "name": "item {n}"}}'.encode() for n in range(1000)}


async def item(request: Request) -> Response:
    body = BODIES.get(request.url.path)
    if body is None:
        return Response(status_code=404)
    return Response(body, media_type="application/json")


app = Starlette(routes=[Route("/items/{n}", item)])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        server_header=False,
        date_header=False,
    )
