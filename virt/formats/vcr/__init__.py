"""VCR.py cassettes, YAML and JSON, in every dialect seen in the wild; export as VCR.py 1.x YAML.

Dialects read (each corpus folder under vcr/ has at least one):

- 1.x: {interactions: [{request: {method, uri, body, headers}, response: {status: {code,
  message}, headers, body: {string}}}], version: 1}, with or without `version`;
- pre-1.0: a bare list of interactions whose requests carry protocol/host/port/path and whose
  response headers are "Name: value\\r\\n" lines (migrated to 1.x first, see read.py);
- headers as a dict of lists, a dict of plain strings (okta), or a list of (name, [values])
  tuples (tornado);
- body.string as text or as !!binary: both are the bytes the client read off the wire, so a
  gzip response is gzip bytes (tweepy) and decodes here; a text body whose headers still name a
  coding it is not in was kept decoded by its recorder (httpx's old `content`) and is re-encoded
  at replay instead;
- a request body that is a dict (aiohttp's json= or data=), and pydantic-ai's parsed_body, a
  YAML-native JSON value standing for the body: both are serialised back to the bytes the
  client most likely sent (see read.py);
- extra fields such as recorded_at (praw) are read where virt has a place for them.

read.py migrates and reads cassettes, write.py exports, common.py holds what both agree on;
the request and response shapes VCR.py shares with Betamax and Ruby VCR are in ../cassette.py.
"""

from virt.formats.vcr.common import NAME, VERSION
from virt.formats.vcr.read import READER, VcrReader
from virt.formats.vcr.write import WRITER, VcrWriter

__all__ = ["NAME", "READER", "VERSION", "WRITER", "VcrReader", "VcrWriter"]
