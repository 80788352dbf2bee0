"""One process per job: `record` runs the recording proxy; `serve` runs both doors and admin.

Each lives in its own module (virt.server.record, virt.server.serve); virt.server.signals is how
both stop on SIGINT and SIGTERM.
"""

from __future__ import annotations

from virt.server.record import RecordSettings, record
from virt.server.serve import ServeSettings, serve

__all__ = ["RecordSettings", "ServeSettings", "record", "serve"]
