"""The WireMock names that reading and writing share: the format's name, the body folders a
root keeps beside `mappings`, and the scenario state every chain starts from."""

from __future__ import annotations

NAME = "wiremock"
BODY_DIRS = ("__files", "_files", "files")
STARTED = "Started"
