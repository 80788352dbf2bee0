"""The settings of make bench, from the environment; bench/__main__.py documents them."""

from __future__ import annotations

import os


def _sizes(name: str, default: str) -> list[int]:
    text = os.environ.get(name, default)
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SystemExit(f"{name}={text!r}: give sizes as numbers, e.g. 1000,100000") from None
    if not sizes or min(sizes) < 10:
        raise SystemExit(f"{name}={text!r}: give at least one size, each 10 or more")
    return sizes


SIZES = _sizes("BENCH_SIZES", "1000,100000,1000000")
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
PROXY_MAX = int(os.environ.get("BENCH_PROXY_MAX", "100000"))
"""The proxy rows run at sizes up to this: their targets are set at 1,000 and 100,000, and
mitmdump takes minutes and gigabytes to load a million flows."""
