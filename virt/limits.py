"""Body limits: the size both doors and the recorder accept, how to write it, how to refuse."""

from __future__ import annotations

import re

from virt.errors import ConfigError

MiB = 1024 * 1024
DEFAULT_MAX_BODY = 32 * MiB
"""What both doors accept and virt decodes, by default: --max-body (VIRT_MAX_BODY) changes it."""

_SIZE = re.compile(r"\s*(\d+)\s*([kmg]?)(i?b)?\s*", re.IGNORECASE | re.ASCII)
_FACTORS = {"": 1, "k": 1024, "m": MiB, "g": 1024 * MiB}


def parse_size(text: str) -> int:
    """Bytes from "32MB", "512k", "1GiB" or "1048576": binary units, as mitmproxy reads them."""
    m = _SIZE.fullmatch(text)
    if m is None or (m[3] and m[3].lower() == "ib" and not m[2]):
        raise ConfigError(
            f"bad size {text!r}", hint="write a number of bytes, or one with k, M or G: 32MB"
        )
    size = int(m[1]) * _FACTORS[m[2].lower()]
    if size <= 0:
        raise ConfigError(f"bad size {text!r}: it must be more than 0 bytes")
    return size


def size_text(size: int) -> str:
    """33554432 as "32 MiB", for messages; sizes that are no whole unit stay exact."""
    for unit, factor in (("GiB", 1024 * MiB), ("MiB", MiB), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def too_large(limit: int, what: str) -> str:
    """Why a body was refused and how to let it in: `what` says what it was ("40 MiB")."""
    return (
        f"virt refuses bodies over {size_text(limit)} ({what}); "
        "raise the limit with --max-body or VIRT_MAX_BODY\n"
    )
