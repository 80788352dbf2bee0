"""Recordings databases: the only code that speaks SQL.

Store (virt.store.store) opens, migrates and writes; its reads are in virt.store.reads (for
matching) and virt.store.browse (for people and reports), the database file's checks in
virt.store.connection, tables and migrations in virt.store.tables.
"""

from __future__ import annotations

from virt.store.browse import Origin, Summary
from virt.store.query import Filter
from virt.store.store import Store
from virt.store.tables import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Filter", "Origin", "Store", "Summary"]
