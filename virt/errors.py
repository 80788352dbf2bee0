"""Errors the user can fix: each has a message naming the problem and a hint saying what to do.

VirtError              str(e) is the whole message; .hint says what to do
├── StoreError         the recordings database cannot be used
│   ├── NotADatabase   the file is not an SQLite database, or not one of virt's
│   ├── SchemaTooNew   written by a newer virt
│   └── StoreReadOnly  the database or its folder cannot be written
├── ConfigError        bad option values or combinations
├── StateError         shared session state (virt.state)
│   ├── StateUnavailable  the state backend (Redis, a state file) cannot be reached or used
│   └── StateLimit     a session holds as many records as it may
├── SchemaError        a JSON Schema cannot be inferred, used or satisfied (virt.schema)
├── OpenApiError       an OpenAPI document does not parse or validate: file, JSON pointer, rule
└── NetworkError
    ├── PortInUse      a port to listen on is taken
    └── UpstreamUnreachable
"""

from __future__ import annotations


class VirtError(Exception):
    """Base of every error virt reports to the user as one line plus a hint."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class StoreError(VirtError):
    """The recordings database cannot be opened, read or written."""


class NotADatabase(StoreError):
    """The path holds something other than a virt recordings database."""


class SchemaTooNew(StoreError):
    """The database was written by a newer virt than this one."""


class StoreReadOnly(StoreError):
    """The database, or the folder it lives in, cannot be written."""


class ConfigError(VirtError):
    """An option has a bad value, or options contradict each other."""


class StateError(VirtError):
    """Shared session state (sequence positions, per-session records) cannot be kept."""


class StateUnavailable(StateError):
    """The state backend does not answer or refuses: Redis down, a state file unwritable."""


class StateLimit(StateError):
    """A session already holds as many records, or a record is larger, than state keeps."""


class SchemaError(VirtError):
    """A JSON Schema cannot be inferred from samples, used to validate, or satisfied by a value."""


class OpenApiError(VirtError):
    """An OpenAPI document cannot be used: `where` is a line and column when it does not parse,
    the JSON pointer of the offending node when it does not validate; `rule` is what it broke."""

    def __init__(self, source: str, where: str, rule: str, message: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.source = source
        self.where = where
        self.rule = rule


class NetworkError(VirtError):
    """A socket could not be opened or an upstream could not be reached."""


class PortInUse(NetworkError):
    """Another process already listens on the port."""


class UpstreamUnreachable(NetworkError):
    """The upstream to record from does not answer."""
