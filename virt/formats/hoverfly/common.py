"""What Hoverfly reading and writing share: the format's name, the "sequence:N" states that
chain repeats of one request, and the characters a path keeps when percent-encoded again."""

from __future__ import annotations

from typing import Any

NAME = "hoverfly"
SEQUENCE = "sequence:"
# characters a path keeps as they are when percent-encoded again (RFC 3986 pchar, "/" and "%")
PATH_SAFE = "/%!$&'()*+,;=:@"


def is_count(value: Any) -> bool:
    """Whether `value` is a string of ASCII digits, as a sequence state's step or a port is."""
    return isinstance(value, str) and value.isascii() and value.isdigit()
