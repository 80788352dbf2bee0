"""Redaction: secrets replaced by keyed placeholders before an interaction touches disk.

The Redactor lives in virt.redact.redactor (the parts it redacts one by one in
virt.redact.parts), JWT claims in virt.redact.claims, what counts as a secret in
virt.redact.detect and the [redact] rules of virt.toml in virt.redact.rules.
"""

from __future__ import annotations

from virt.redact.claims import jwt_claims
from virt.redact.redactor import Redactor
from virt.redact.rules import RedactRules
from virt.redact.text import UnredactableBody

__all__ = ["RedactRules", "Redactor", "UnredactableBody", "jwt_claims"]
