"""HTTP Archive (HAR 1.2): read browser, Polly.JS, Cody and mitmproxy exports; write HAR 1.2.

read.py finds the entries of a document and entry.py makes each an interaction; write.py
exports; common.py holds what both directions agree on, so an export reads back unchanged.
"""

from virt.formats.har.common import NAME
from virt.formats.har.read import READER, HarReader
from virt.formats.har.write import WRITER, HarWriter

__all__ = ["NAME", "READER", "WRITER", "HarReader", "HarWriter"]
