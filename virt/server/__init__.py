"""One process per job: `record` runs the recording proxy; `serve` runs both doors and admin.

Each lives in its own module (virt.server.record, virt.server.serve); virt.server.doors is one
serving process, virt.server.workers runs several (--workers); virt.server.signals is how they
stop on SIGINT and SIGTERM.
"""

from __future__ import annotations

from virt.server.record import RecordSettings, record
from virt.server.serve import serve
from virt.server.settings import ServeSettings

__all__ = ["RecordSettings", "ServeSettings", "record", "serve"]
