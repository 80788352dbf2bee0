"""Sizes as people write them, and the words of a refusal."""

from __future__ import annotations

import pytest

from virt.errors import ConfigError
from virt.limits import MiB, parse_size, size_text, too_large


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("32MB", 32 * MiB),
        ("32M", 32 * MiB),
        ("32mib", 32 * MiB),
        ("512k", 512 * 1024),
        ("512KB", 512 * 1024),
        ("1G", 1024 * MiB),
        ("1048576", MiB),
        ("1048576b", MiB),
        (" 2 MB ", 2 * MiB),
    ],
)
def test_parse_size_reads_binary_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MB", "-1MB", "0", "1.5MB", "12q", "1T", "ib", "\u00b2MB"])
def test_parse_size_refuses_what_is_not_a_size(text: str) -> None:
    with pytest.raises(ConfigError, match="bad size"):
        parse_size(text)


def test_size_text_shows_whole_units_and_exact_bytes() -> None:
    assert [size_text(n) for n in (32 * MiB, 64 * 1024, 1000, 3 * 1024 * MiB)] == [
        "32 MiB",
        "64 KiB",
        "1000 bytes",
        "3 GiB",
    ]


def test_a_refusal_names_the_limit_and_how_to_raise_it() -> None:
    text = too_large(32 * MiB, "this one: 40 MiB")
    assert text == (
        "virt refuses bodies over 32 MiB (this one: 40 MiB); "
        "raise the limit with --max-body or VIRT_MAX_BODY\n"
    )
