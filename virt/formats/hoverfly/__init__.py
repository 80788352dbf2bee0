"""Hoverfly simulations (schema v1 to v5) and journals: read them, and write a v5 simulation.

Each request field comes in the shape of its schema generation, and files in the wild mix them
or mislabel their version, so fields are read by shape rather than converted version by
version: a plain string (v1 and journals), a {"exactMatch": ...} object (v2 to v4), or a list
of {"matcher", "value"} objects (v5). A schemaVersion newer than v5 is refused by name.

A matcher that is not exact (glob, regex, jsonpath, form, ...) imports as its literal value, and
a field left out (any value matches) takes a default: method GET, scheme http, host localhost,
path /. `inexact(path)` lists such places for import reports. Paths and v5 query values are
kept decoded by Hoverfly and are percent-encoded again on import; exact query values holding
";" are split, as Hoverfly joins repeated parameters with ";" when it matches.

Responses: encodedBody means base64 of the bytes as sent (so still in their Content-Encoding);
bodyFile is read relative to the simulation file and never from outside its folder.

read.py finds the pairs and orders them, pair.py makes each an interaction, write.py writes a
v5 simulation, and common.py holds what reading and writing share.
"""

from virt.formats.hoverfly.common import NAME
from virt.formats.hoverfly.pair import HOST
from virt.formats.hoverfly.read import NEWEST_SCHEMA, READER, HoverflyReader, inexact
from virt.formats.hoverfly.write import WRITER, HoverflyWriter

__all__ = [
    "HOST",
    "NAME",
    "NEWEST_SCHEMA",
    "READER",
    "WRITER",
    "HoverflyReader",
    "HoverflyWriter",
    "inexact",
]
