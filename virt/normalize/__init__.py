"""Canonical forms of requests: what two requests must share to be the same request.

Lookup keys are in virt.normalize.lookup, percent-encoding forms in virt.normalize.uri, canonical
bodies and queries in virt.normalize.canonical, route templates in virt.normalize.route and
scored fields in virt.normalize.fields.
"""

from __future__ import annotations

from virt.normalize.lookup import exact_key, keys
from virt.normalize.uri import query_pairs

__all__ = ["exact_key", "keys", "query_pairs"]
