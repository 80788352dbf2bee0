"""What VCR.py reading and writing agree on: the format's name and the cassette version."""

from __future__ import annotations

NAME = "vcr"

VERSION = 1
"""The newest VCR.py cassette version (VCR.py has only ever written 1): written, and read up to."""
