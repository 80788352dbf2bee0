"""What HAR reading and writing agree on, so that an export reads back as it was written: the
format's name, virt's _wireBytes extension, the charset a body's text is in, and timestamps."""

from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime

NAME = "har"

WIRE = "_wireBytes"
"""virt's extension to response.content under a Content-Encoding: true when the base64 body is
as it was sent (it did not decode), false when it is decoded as HAR has it."""

_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)


def charset_of(content_type: str | None) -> str:
    """The codec a Content-Type's charset names; UTF-8 when it names none, or none known."""
    match = _CHARSET.search(content_type or "")
    if match is not None:
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            pass
    return "utf-8"


def iso(moment: datetime) -> str:
    """`moment` as HAR's startedDateTime: ISO 8601 in UTC, to the millisecond."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
