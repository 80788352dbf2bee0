"""Edits: the pydantic bodies a client sends to add or change an interaction.

A hand-written interaction (InteractionIn) and a patch of one (InteractionPatch), each checked
as HTTP before it reaches the store: header names are tokens, values latin-1 without CR or LF,
a body is UTF-8 text or base64 bytes, never both. The admin API's other bodies stay in
virt.admin.payloads.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from virt.admin.payloads import HeaderList


def _check_headers(value: HeaderList) -> HeaderList:
    for name, v in value:
        if not name or any(c in name for c in " \t\r\n:") or not name.isascii():
            raise ValueError(f"header name {name!r} is not a valid HTTP token")
        if "\r" in v or "\n" in v:
            raise ValueError(f"header {name!r}: a value cannot hold CR or LF")
        try:
            v.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"header {name!r}: the value must be latin-1 text") from None
    return value


class _Body(BaseModel):
    """A body as text (`body`, UTF-8) or bytes (`body_base64`); at most one of them."""

    model_config = ConfigDict(extra="forbid")

    headers: HeaderList = Field(default_factory=list, description="[name, value] pairs, in order.")
    body: str | None = Field(default=None, description="The body as UTF-8 text.")
    body_base64: str | None = Field(default=None, description="The body's bytes, base64.")

    _headers = field_validator("headers")(_check_headers)

    @field_validator("body")
    @classmethod
    def _utf8(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("body must be valid Unicode text; use body_base64") from None
        return value

    @field_validator("body_base64")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("body_base64 is not valid base64") from None
        return value

    @model_validator(mode="after")
    def _one_body(self) -> _Body:
        if self.body is not None and self.body_base64 is not None:
            raise ValueError("give body or body_base64, not both")
        return self

    def content(self) -> bytes:
        if self.body_base64 is not None:
            return base64.b64decode(self.body_base64)
        return (self.body or "").encode("utf-8")


class RequestIn(_Body):
    method: Annotated[str, Field(pattern=r"^[A-Za-z]{1,20}$", examples=["GET"])]
    url: Annotated[
        str,
        Field(
            pattern=r"^https?://[^/?#\s]+(/[^\s]*)?$",
            max_length=8192,
            examples=["https://api.example.com/users/1?x=1"],
        ),
    ]


class ResponseIn(_Body):
    status: Annotated[int, Field(ge=100, le=599)]
    reason: Annotated[str, Field(max_length=200, pattern=r"^[^\r\n]*$")] = ""


class InteractionIn(BaseModel):
    """A hand-written interaction."""

    model_config = ConfigDict(extra="forbid")

    request: RequestIn
    response: ResponseIn
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list)
    session: Annotated[str, Field(min_length=1, max_length=200)] = "admin"


class _BodyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    headers: HeaderList | None = None
    body: str | None = None
    body_base64: str | None = None

    _headers = field_validator("headers")(lambda v: None if v is None else _check_headers(v))
    _utf8 = field_validator("body")(_Body._utf8.__func__)  # type: ignore[attr-defined]
    _base64 = field_validator("body_base64")(_Body._base64.__func__)  # type: ignore[attr-defined]

    def content(self) -> bytes | None:
        """The new body's bytes, or None when the patch leaves the body as it is."""
        if self.body_base64 is not None:
            return base64.b64decode(self.body_base64)
        return None if self.body is None else self.body.encode("utf-8")


class RequestPatch(_BodyPatch):
    method: Annotated[str, Field(pattern=r"^[A-Za-z]{1,20}$")] | None = None
    url: (
        Annotated[str, Field(pattern=r"^https?://[^/?#\s]+(/[^\s]*)?$", max_length=8192)] | None
    ) = None


class ResponsePatch(_BodyPatch):
    status: Annotated[int, Field(ge=100, le=599)] | None = None
    reason: Annotated[str, Field(max_length=200, pattern=r"^[^\r\n]*$")] | None = None


class InteractionPatch(BaseModel):
    """Fields to change; anything left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    request: RequestPatch | None = None
    response: ResponsePatch | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = None
