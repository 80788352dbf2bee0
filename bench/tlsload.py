"""HTTPS load through a proxy: CONNECT, TLS with the proxy's CA, then HTTP/1.1 keep-alive
requests on each connection, each a uniformly random entry of the workload. wrk cannot CONNECT.

    python -m bench.tlsload PORT CA_FILE SIZE CONNECTIONS WARMUP_S SECONDS

Prints one line, `BENCH {json}`, in the shape bench/workload.lua prints, plus the generator's
own CPU time over the measured seconds (1.0 is a whole core): near 1.0 the generator, not the
proxy, is what saturates. Warm-up answers are compared byte for byte with the recorded ones.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import ssl
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import workload

CONNECT = f"CONNECT {workload.HOST}:443 HTTP/1.1\r\nHost: {workload.HOST}:443\r\n\r\n".encode()


class BadAnswer(Exception):
    """An answer that was not 200, or not the recorded bytes."""


@dataclass
class Tally:
    measuring: bool = False
    stopping: bool = False
    verify: bool = True
    start_ns: int = 0
    end_ns: int = 0
    latencies: list[int] = field(default_factory=list)
    not_ok: int = 0
    socket_errors: int = 0
    first_bad: str = ""


def request_bytes(i: int) -> bytes:
    """Entry i as bench/workload.lua sends it, built without its answer (cheap per request)."""
    if i % 10 == 0:
        body = workload.search_body(i)
        return (
            f"POST /api/search HTTP/1.1\r\nHost: {workload.HOST}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
    return f"GET /api/items/{i}?page={i % 7} HTTP/1.1\r\nHost: {workload.HOST}\r\n\r\n".encode()


async def open_tunnel(
    port: int, context: ssl.SSLContext
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TLS connection to api.bench.local:443 through the proxy on 127.0.0.1:`port`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(CONNECT)
    head = await reader.readuntil(b"\r\n\r\n")
    if head[9:12] != b"200":
        writer.close()
        raise BadAnswer(f"CONNECT answered {head[:200]!r}")
    await writer.start_tls(context, server_hostname=workload.HOST)
    return reader, writer


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, i: int
) -> tuple[int, bytes]:
    """Sends entry i and reads the whole answer: its status and body."""
    writer.write(request_bytes(i))
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    headers = head.lower()
    at = headers.find(b"\r\ncontent-length:")
    if at >= 0:
        end = headers.index(b"\r\n", at + 2)
        body = await reader.readexactly(int(headers[at + 17 : end]))
    elif b"\r\ntransfer-encoding: chunked" in headers:
        body = await _chunked(reader)
    else:
        raise BadAnswer(f"an answer with neither Content-Length nor chunks: {head[:200]!r}")
    return status, body


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def client(port: int, context: ssl.SSLContext, size: int, tally: Tally, seed: int) -> None:
    """One keep-alive connection sending requests until the load stops; a broken connection
    is counted and opened again."""
    rng = random.Random(seed)
    while not tally.stopping:
        try:
            reader, writer = await open_tunnel(port, context)
        except (OSError, asyncio.IncompleteReadError, BadAnswer) as e:
            tally.socket_errors += 1
            _note(tally, f"connect: {e}")
            await asyncio.sleep(0.01)
            continue
        try:
            while not tally.stopping:
                i = rng.randrange(size)
                start = time.perf_counter_ns()
                status, body = await exchange(reader, writer, i)
                end = time.perf_counter_ns()
                if status != 200 or (tally.verify and body != workload.entry(i).answer):
                    tally.not_ok += 1
                    _note(tally, f"{status} {body[:200]!r} for entry {i}")
                if tally.measuring and end <= tally.end_ns:
                    tally.latencies.append(end - start)
        except (OSError, asyncio.IncompleteReadError, BadAnswer, ValueError) as e:
            tally.socket_errors += 1
            _note(tally, f"exchange: {e!r}")
        finally:
            writer.close()


def _note(tally: Tally, what: str) -> None:
    if not tally.first_bad:
        tally.first_bad = what[:300]


async def load(
    port: int, ca: Path, size: int, connections: int, warmup: float, seconds: float
) -> dict[str, object]:
    context = ssl.create_default_context(cafile=str(ca))
    context.set_alpn_protocols(["http/1.1"])
    tally = Tally()
    cpu = 0.0

    async def control() -> None:
        nonlocal cpu
        await asyncio.sleep(warmup)
        tally.verify = False
        tally.measuring = True
        tally.start_ns = time.perf_counter_ns()
        tally.end_ns = tally.start_ns + int(seconds * 1e9)
        cpu_before = _cpu()
        await asyncio.sleep(seconds)
        cpu = (_cpu() - cpu_before) / seconds
        tally.stopping = True

    try:
        # a proxy that stops answering must not hold the bench forever
        async with asyncio.timeout(warmup + seconds + 15), asyncio.TaskGroup() as group:
            group.create_task(control())
            for seed in range(connections):
                group.create_task(client(port, context, size, tally, seed))
    except TimeoutError:
        tally.socket_errors += 1
        _note(tally, "connections still waiting for an answer 15 s after the load ended")
    times = sorted(tally.latencies)
    return {
        "requests": len(times),
        "duration_us": int(seconds * 1e6),
        "not_ok": tally.not_ok,
        "socket_errors": tally.socket_errors,
        "latency_p50_us": _percentile(times, 50) / 1e3,
        "latency_p99_us": _percentile(times, 99) / 1e3,
        "first_bad": tally.first_bad,
        "client_cpu": cpu,
    }


def _percentile(times: list[int], p: int) -> float:
    return float(times[min(len(times) - 1, len(times) * p // 100)]) if times else 0.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def fetch(port: int, ca: Path, entries: list[int]) -> list[tuple[int, bytes]]:
    """The answers to `entries`, in order, over one tunnel: for readiness and checks."""
    context = ssl.create_default_context(cafile=str(ca))
    reader, writer = await open_tunnel(port, context)
    try:
        return [await exchange(reader, writer, i) for i in entries]
    finally:
        writer.close()


def main(argv: list[str]) -> None:
    import uvloop

    port, ca, size, connections = int(argv[0]), Path(argv[1]), int(argv[2]), int(argv[3])
    warmup, seconds = float(argv[4]), float(argv[5])
    result = uvloop.run(load(port, ca, size, connections, warmup, seconds))
    print("BENCH " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
