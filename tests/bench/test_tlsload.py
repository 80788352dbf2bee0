"""bench/tlsload.py: it sends the workload's requests and reads whole answers, sized or
chunked, over keep-alive connections."""

from __future__ import annotations

import asyncio

import pytest

from bench import tlsload, workload


@pytest.mark.parametrize("i", [0, 1, 10, 77, 999_990])
def test_each_request_is_the_entry_of_the_workload(i: int) -> None:
    e = workload.entry(i)
    head, _, body = tlsload.request_bytes(i).partition(b"\r\n\r\n")
    line, *headers = head.decode().split("\r\n")
    assert line == f"{e.method} {e.target} HTTP/1.1"
    assert f"Host: {workload.HOST}" in headers
    assert body == e.body
    if e.body:
        assert f"Content-Length: {len(e.body)}" in headers


ANSWERS = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
    b"HTTP/1.1 599 Miss\r\ncontent-length: 4\r\n\r\nmiss",
]


async def _exchanges() -> list[tuple[int, bytes]]:
    """Three requests on one keep-alive connection to a real server that answers each in
    turn from ANSWERS."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in ANSWERS:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return [await tlsload.exchange(reader, writer, i) for i in (1, 2, 3)]
        finally:
            writer.close()


def test_answers_are_read_whole_whether_sized_or_chunked() -> None:
    assert asyncio.run(_exchanges()) == [(200, b"hello"), (200, b"hello"), (599, b"miss")]
