"""WireMock stub mappings: read recorded mapping files or folders, and write a mappings folder.

WireMock mappings carry no host, so every request imports as http://localhost:80 (scheme
"http", host "localhost", port 80); virt's direct door answers them as the only recorded host.

A recording is a mapping file (one mapping, or {"mappings": [...]}) whose response body is
inline (body, jsonBody, base64Body) or in a body file: bodyFileName resolves against the
`__files` folder beside the `mappings` folder (older recordings use `_files` or `files`). Body
files hold the body as WireMock serves it, decoded, even when a Content-Encoding header is kept.

Order: WireMock answers a repeated request from scenario states, not from file order. Within
one file set (a file, or every mapping file of a `mappings` folder when a folder is read) the
interactions are yielded by insertionIndex (else by file name, numbers compared as numbers),
and the mappings of each scenario are put in chain order ("Started" -> ...) within the places
they take, so a polled endpoint replays pending, pending, done.

A matcher that is not an exact value (urlPattern, contains, matches, equalToJson with ignore
flags, ...) imports as its literal value, so the request can be replayed exactly as written;
`inexact(path)` lists such places for import reports.

read.py finds the mappings and orders them, mapping.py makes each an interaction, write.py
writes a mappings folder, and common.py holds the names reading and writing share.
"""

from virt.formats.wiremock.common import BODY_DIRS, NAME, STARTED
from virt.formats.wiremock.mapping import HOST
from virt.formats.wiremock.read import READER, WireMockReader, inexact
from virt.formats.wiremock.write import WRITER, WireMockWriter

__all__ = [
    "BODY_DIRS",
    "HOST",
    "NAME",
    "READER",
    "STARTED",
    "WRITER",
    "WireMockReader",
    "WireMockWriter",
    "inexact",
]
