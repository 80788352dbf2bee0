"""The doors' protocol: the writes of one loop iteration reach the socket as one."""

from __future__ import annotations

import asyncio
import socket

from virt.replay.protocol import _Gathered


def test_a_head_and_a_body_written_in_one_iteration_reach_the_socket_as_one_send() -> None:
    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
        gathered = _Gathered(transport, loop)
        gathered.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
        gathered.write(b"ok")
        theirs.setblocking(False)
        with_nothing_yet = _drain(theirs)
        await asyncio.sleep(0)  # the end of the iteration
        await asyncio.sleep(0.05)
        received = _drain(theirs)
        gathered.close()
        theirs.close()
        return [with_nothing_yet, received]

    before, after = asyncio.run(main())
    assert before == b""  # nothing is sent before the iteration ends
    assert after == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_closing_sends_what_was_written_first() -> None:
    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
        gathered = _Gathered(transport, loop)
        gathered.write(b"bye")
        gathered.close()
        await asyncio.sleep(0.05)
        theirs.settimeout(1)
        data = theirs.recv(100)
        theirs.close()
        return data

    assert asyncio.run(main()) == b"bye"


def _drain(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except BlockingIOError:
        return b""
