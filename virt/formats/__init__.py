"""Recording formats: FORMATS and WRITERS registries by name, and detect(path).

The registry lives in registry.py; each format module defines READER (or READERS for
several) and WRITER when virt can export the format.
"""

from __future__ import annotations

from virt.formats.base import ImportFormatError, Item, Reader, Skipped, Writer
from virt.formats.registry import FORMATS, WRITERS, detect, expand, reader, writer

__all__ = [
    "FORMATS",
    "WRITERS",
    "ImportFormatError",
    "Item",
    "Reader",
    "Skipped",
    "Writer",
    "detect",
    "expand",
    "reader",
    "writer",
]
