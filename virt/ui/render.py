"""Recorded bodies as the web page shows them: formatted text, a form as a table, an image, or
a hex dump. Bodies are hostile input: every view is text that the templates escape."""

from __future__ import annotations

import json
import xml.dom.minidom
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from virt.model import Headers, header

SHOWN = 256 * 1024
"""Bytes of a body the page formats; past that it shows the start and says how much is left."""
HEX_SHOWN = 4096
"""Bytes of a binary body the hex dump shows."""
IMAGE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "image/x-icon",
    }
)
"""Images the page shows inline. SVG is not one: it is a document that can carry scripts."""


@dataclass(frozen=True, slots=True)
class Body:
    """One body as the page shows it; `kind` picks the view: empty, json, xml, form, text,
    image or binary."""

    kind: str
    size: int
    media: str
    text: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)
    truncated: bool = False


def media_type(headers: Headers) -> str:
    """The media type of a Content-Type header, lower case without parameters; "" if none."""
    return (header(headers, "content-type") or "").partition(";")[0].strip().lower()


def body_view(body: bytes, headers: Headers) -> Body:
    """How to show `body`, sent with `headers`: by its declared type, then by what it holds."""
    media = media_type(headers)
    size = len(body)
    if not body:
        return Body("empty", 0, media)
    if media in IMAGE_TYPES:
        return Body("image", size, media)
    head = body[:SHOWN]
    truncated = size > SHOWN
    text = _utf8(head, truncated)
    if text is None:
        return Body(
            "binary", size, media, text=hex_dump(body[:HEX_SHOWN]), truncated=size > HEX_SHOWN
        )
    if not truncated:
        if media == "application/x-www-form-urlencoded":
            return Body("form", size, media, rows=parse_qsl(text, keep_blank_values=True))
        if media.endswith("json") or media.endswith("+json") or text.lstrip()[:1] in ("{", "["):
            pretty = _json(text)
            if pretty is not None:
                return Body("json", size, media, text=pretty)
        if media.endswith("xml") or text.lstrip().startswith("<?xml"):
            pretty = _xml(body)
            if pretty is not None:
                return Body("xml", size, media, text=pretty)
    return Body("text", size, media, text=text, truncated=truncated)


def hex_dump(data: bytes) -> str:
    """`data` as lines of offset, sixteen hex bytes and their printable ASCII."""
    lines = []
    for at in range(0, len(data), 16):
        chunk = data[at : at + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        shown = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{at:08x}  {hexes:<47}  {shown}")
    return "\n".join(lines)


def _utf8(data: bytes, cut: bool) -> str | None:
    """`data` as text if it is UTF-8 without control bytes other than whitespace; a body cut
    short may end inside a character."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        if not (cut and e.start >= len(data) - 3):
            return None
        text = data[: e.start].decode("utf-8")
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text[:4096]):
        return None
    return text


def _json(text: str) -> str | None:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return None


def _xml(body: bytes) -> str | None:
    # minidom resolves no external entities and fetches nothing; a DTD is refused outright,
    # so no entity can expand past the body's size
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        return None
    try:
        pretty = xml.dom.minidom.parseString(body).toprettyxml(indent="  ")
    except Exception:  # any malformed XML: shown as text instead
        return None
    return "\n".join(line for line in pretty.splitlines() if line.strip())
