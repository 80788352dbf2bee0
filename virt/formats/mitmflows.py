"""mitmproxy dump files (.mitm, .flows), read by mitmproxy itself in every version it migrates."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, cast

from mitmproxy import exceptions, http
from mitmproxy.io import FlowReader, tnetstring

from virt.formats.base import ImportFormatError, Item, Skipped, head
from virt.mitm.convert import to_interaction

NAME = "mitmproxy"

_TNETSTRING = re.compile(rb"(\d{1,12}):")
_NEWER_HINT = "the dump was written by a newer mitmproxy: upgrade it (pip install -U mitmproxy)"
_OLDER_HINT = (
    "the dump predates what mitmproxy migrates: load it in an older mitmproxy, save it again"
)


class MitmproxyReader:
    """Reads a mitmproxy dump flow by flow: HTTP exchanges become interactions."""

    name: ClassVar[str] = NAME

    def sniff(self, path: Path) -> bool:
        if path.name.lower().endswith((".mitm", ".flows")):
            return True
        # a dump is a run of tnetstrings, each a dictionary: "<length>:<payload>}"
        data = head(path, 64)
        match = _TNETSTRING.match(data)
        if match is None:
            return False
        end = match.end() + int(match.group(1))
        if end < len(data):
            return data[end : end + 1] == b"}"
        try:
            with path.open("rb") as f:
                f.seek(end)
                return f.read(1) == b"}"
        except (OSError, OverflowError):
            return False

    def read(self, path: Path) -> Iterator[Item]:
        try:
            f = path.open("rb")
        except OSError as e:
            raise ImportFormatError(path, "", f"cannot read the file: {e.strerror or e}") from e
        with f:
            records = _Records(f)
            flows = iter(FlowReader(cast(BinaryIO, records)).stream())
            while True:
                try:
                    flow = next(flows, None)
                except _Broken as e:
                    raise ImportFormatError(path, records.where, e.why, e.hint) from None
                except exceptions.FlowReadException as e:
                    message = str(e)
                    raise ImportFormatError(path, records.where, message, _hint(message)) from None
                except Exception as e:  # a dictionary mitmproxy could not make a flow of
                    why = f"not a mitmproxy flow: {e!r}"
                    raise ImportFormatError(path, records.where, why) from None
                if flow is None:
                    return
                yield _item(flow, records.where, path)


READER = MitmproxyReader()


def _hint(message: str) -> str:
    if "cannot read files with flow format version" not in message:
        return ""
    return _NEWER_HINT if "update" in message else _OLDER_HINT


def _item(flow: Any, where: str, path: Path) -> Item:
    if not isinstance(flow, http.HTTPFlow):
        return Skipped(where, f"not HTTP: a {flow.type} flow")
    if flow.response is None:
        if flow.websocket is not None:
            return Skipped(where, "not HTTP: a websocket flow without its handshake response")
        return Skipped(where, f"no response: {flow.error.msg}" if flow.error else "no response")
    if flow.request.method.upper() == "CONNECT":
        # the tunnel a proxy client opens; the recorder never sees these either
        return Skipped(where, "not HTTP: a CONNECT tunnel")
    try:
        interaction = to_interaction(flow, session=f"import:{path.name}")
    except Exception as e:
        raise ImportFormatError(path, where, f"cannot read this flow: {e!r}") from None
    return replace(interaction, source=str(path), source_format=NAME)


# Flow formats older than any mitmproxy still migrates, raised to the oldest one it does, one
# version at a time (as mitmproxy/io/compat.py does for the rest).


def _convert_010_011(data: dict[bytes, Any]) -> dict[bytes, Any]:
    # 0.10 kept the client connection inside the request and no server connection at all;
    # 0.11 has both beside the request, in the shape mitmproxy's convert_011_012 starts from.
    request = data[b"request"]
    response = data.get(b"response")
    client = request.pop(b"client_conn", None) or {}
    tls = request.get(b"scheme") == b"https"
    tcp_setup = request.pop(b"tcp_setup_timestamp", None)
    tls_setup = request.pop(b"ssl_setup_timestamp", None)
    request.pop(b"ip", None)
    request.setdefault(b"form_in", b"relative")
    request.setdefault(b"form_out", b"relative")
    request.setdefault(b"is_replay", False)
    cert = response.pop(b"cert", None) if response else None
    host = request[b"host"]

    def address(pair: Any) -> dict[bytes, Any]:
        return {b"address": list(pair), b"use_ipv6": False}

    return {
        b"type": b"http",
        b"id": str(uuid.uuid4()).encode(),
        b"intercepted": False,
        b"error": data.get(b"error"),
        b"request": request,
        b"response": response,
        b"client_conn": {
            b"address": address(client.get(b"address") or (b"", 0)),
            b"clientcert": None,
            b"ssl_established": tls,
            b"timestamp_start": request.get(b"timestamp_start"),
            b"timestamp_ssl_setup": None,
            b"timestamp_end": None,
        },
        b"server_conn": {
            b"address": address((host, request[b"port"])),
            b"cert": cert,
            b"sni": host if tls else None,
            b"source_address": address((b"", 0)),
            b"ssl_established": tls,
            b"state": [],
            b"timestamp_start": tcp_setup,
            b"timestamp_tcp_setup": tcp_setup,
            b"timestamp_ssl_setup": tls_setup,
            b"timestamp_end": None,
        },
        b"version": [0, 11],
    }


_LEGACY: dict[tuple[int, ...], Callable[[dict[bytes, Any]], dict[bytes, Any]]] = {
    (0, 10): _convert_010_011,
}


def _version(record: dict[Any, Any]) -> Any:
    version = record.get(b"version", record.get("version"))
    return tuple(version[:2]) if isinstance(version, list) else version


class _Broken(Exception):
    def __init__(self, why: str, hint: str = "") -> None:
        super().__init__(why)
        self.why = why
        self.hint = hint


class _Records:
    """The dump as FlowReader reads it, one flow record at a time, each looked at first.

    A record older than every format mitmproxy migrates is raised to the oldest one it does
    (_LEGACY). A record whose keys are bytes but whose version is one mitmproxy wrote with text
    keys is refused: mitmproxy's migration would loop on it forever.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._buffer = b""
        self._index = -1
        self._start = self._end = 0

    @property
    def where(self) -> str:
        """The record FlowReader is reading, or read last."""
        return f"flow {self._index} (byte {self._start})"

    def peek(self, size: int) -> bytes:
        if not self._buffer:
            self._next()
        return self._buffer[:size]

    def read(self, size: int = -1) -> bytes:
        if not self._buffer:
            self._next()
        size = len(self._buffer) if size < 0 else size
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def _next(self) -> None:
        self._index += 1
        self._start = self._end
        raw = _raw_record(self._raw)
        self._end += len(raw)
        if not raw:
            return
        try:
            record = tnetstring.loads(raw)
        except ValueError as e:
            raise _Broken(f"not a mitmproxy flow: {e}") from None
        if not isinstance(record, dict):
            raise _Broken(f"expected a flow (a dictionary), found {type(record).__name__}")
        version = _version(record)
        if b"version" in record and (
            isinstance(version, int) or (isinstance(version, tuple) and version >= (1, 0))
        ):
            raise _Broken(f"not a flow mitmproxy wrote: format {version!r} with byte-string keys")
        legacy = version in _LEGACY
        try:
            while (version := _version(record)) in _LEGACY:
                record = _LEGACY[version](record)
        except (KeyError, TypeError, AttributeError, IndexError) as e:
            raise _Broken(f"not a mitmproxy flow: {e!r}") from None
        self._buffer = tnetstring.dumps(record) if legacy else raw


def _raw_record(f: BinaryIO) -> bytes:
    """The bytes of the next tnetstring in `f` (b"" at the end), framed as tnetstring.load
    reads them: length digits, a colon, the payload, a type byte."""
    length = b""
    while (c := f.read(1)).isdigit() and len(length) <= 12:
        length += c
    if not length and not c:
        return b""
    if c != b":" or not length:
        what = "a HAR file? import it as har" if (length + c)[:1] in (b"{", b"\xef") else ""
        raise _Broken(
            "not a mitmproxy dump: expected a tnetstring" + (f" ({what})" if what else "")
        )
    size = int(length) + 1
    try:
        left = os.fstat(f.fileno()).st_size - f.tell()
    except (AttributeError, OSError, ValueError):
        left = size
    # never ask read() for more than the file holds: a corrupt length may say terabytes
    payload = f.read(size) if size <= left else b""
    if len(payload) != size:
        raise _Broken("the dump ends inside a flow")
    return length + c + payload
