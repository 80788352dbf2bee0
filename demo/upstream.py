"""A small real upstream for the demo and tests: JSON, form, binary, gzip, chunked, SSE, polling.

python -m demo.upstream --port 8443 --tls-dir /tmp/virt-demo-tls   # HTTPS, CA in ca.pem
python -m demo.upstream --port 8081                                # plain HTTP
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

BINARY = bytes(hashlib.sha256(str(i).encode()).digest()[0] for i in range(4096))
"""4 KiB of fixed, non-UTF-8 bytes: the 'logo'."""

USERS = {1: {"id": 1, "name": "Ada"}, 2: {"id": 2, "name": "Grace"}}


async def list_users(request: Request) -> Response:
    page = int(request.query_params.get("page", "1"))
    return JSONResponse({"page": page, "users": list(USERS.values())})


async def get_user(request: Request) -> Response:
    uid = int(request.path_params["uid"])
    if uid not in USERS:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse(USERS[uid], headers={"ETag": f'"user-{uid}"'})


async def create_user(request: Request) -> Response:
    data = await request.json()
    return JSONResponse({"id": 3, **data}, status_code=201, headers={"Location": "/users/3"})


async def update_user(request: Request) -> Response:
    data = await request.json()
    return JSONResponse({"id": int(request.path_params["uid"]), **data})


async def delete_user(request: Request) -> Response:
    return Response(status_code=204)


async def login(request: Request) -> Response:
    # parsed here rather than with request.form(), which needs python-multipart (not a dependency)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    user = form.get("username", [None])[0]
    return JSONResponse({"user": user, "token_type": "bearer", "expires_in": 300})


async def logo(request: Request) -> Response:
    return Response(BINARY, media_type="image/png")


async def report(request: Request) -> Response:
    """Gzip-encoded JSON, as a CDN would send it."""
    body = json.dumps({"rows": [{"n": i, "square": i * i} for i in range(50)]}).encode()
    return Response(
        gzip.compress(body, mtime=0),
        media_type="application/json",
        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
    )


async def export(request: Request) -> Response:
    """A chunked response: no Content-Length, several chunks."""

    async def lines() -> AsyncIterator[bytes]:
        for i in range(5):
            yield f"line {i}\n".encode()
            await asyncio.sleep(0)

    return StreamingResponse(lines(), media_type="text/plain")


async def events(request: Request) -> Response:
    """Server-sent events that end after three events."""

    async def stream() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"id: {i}\nevent: tick\ndata: {json.dumps({'n': i})}\n\n".encode()
            await asyncio.sleep(0)

    return StreamingResponse(stream(), media_type="text/event-stream")


async def create_job(request: Request) -> Response:
    jobs: dict[str, int] = request.app.state.jobs
    job_id = f"job-{len(jobs) + 1}"
    jobs[job_id] = 0
    return JSONResponse({"id": job_id, "state": "pending"}, status_code=202)


async def poll_job(request: Request) -> Response:
    """pending, pending, then done: a job polled until it finishes."""
    jobs: dict[str, int] = request.app.state.jobs
    job_id = request.path_params["job_id"]
    if job_id not in jobs:
        return JSONResponse({"error": "no such job"}, status_code=404)
    jobs[job_id] += 1
    state = "done" if jobs[job_id] >= 3 else "pending"
    return JSONResponse({"id": job_id, "state": state, "polls": jobs[job_id]})


async def echo(request: Request) -> Response:
    """What the upstream received: lets tests see what a client or proxy really sent."""
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": {k: v for k, v in request.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
    )


def create_app() -> Starlette:
    app = Starlette(
        routes=[
            Route("/users", list_users, methods=["GET"]),
            Route("/users", create_user, methods=["POST"]),
            Route("/users/{uid:int}", get_user, methods=["GET"]),
            Route("/users/{uid:int}", update_user, methods=["PUT"]),
            Route("/users/{uid:int}", delete_user, methods=["DELETE"]),
            Route("/login", login, methods=["POST"]),
            Route("/logo.png", logo, methods=["GET"]),
            Route("/report", report, methods=["GET"]),
            Route("/export", export, methods=["GET"]),
            Route("/events", events, methods=["GET"]),
            Route("/jobs", create_job, methods=["POST"]),
            Route("/jobs/{job_id}", poll_job, methods=["GET"]),
            Route("/echo", echo, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ]
    )
    app.state.jobs = {}
    return app


def write_tls(tls_dir: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for localhost/127.0.0.1: (ca.pem, cert.pem, key.pem)."""
    import trustme

    tls_dir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    paths = (tls_dir / "ca.pem", tls_dir / "cert.pem", tls_dir / "key.pem")
    ca.cert_pem.write_to_path(str(paths[0]))
    cert.cert_chain_pems[0].write_to_path(str(paths[1]))
    cert.private_key_pem.write_to_path(str(paths[2]))
    return paths


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument(
        "--tls-dir", type=Path, help="serve HTTPS; writes ca.pem, cert.pem, key.pem"
    )
    args = parser.parse_args()
    ssl: dict[str, str] = {}
    if args.tls_dir:
        _, cert, key = write_tls(args.tls_dir)
        ssl = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning", **ssl)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
