"""Real JSON bodies and schemas for the schema tests: recorded API traffic and a published OpenAPI.

- octokit/fixtures (nock): GitHub REST responses, grouped by method and path;
- the issues of its paginate-issues scenario, 13 objects of one shape;
- pydantic-ai's VCR cassettes: OpenAI chat completion requests and responses;
- the OpenAI OpenAPI 3.1 document, its `nullable: true` written the 3.1 way (a "null" type), so
  that jsonschema, which knows no `nullable`, checks what the document means.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.formats.corpus import CORPUS, REPO

OPENAPI = Path(REPO.parent / "shared" / "openapi" / "openai" / "openapi.yaml").resolve()
_OCTOKIT = CORPUS / "nock" / "octokit__fixtures" / "scenarios" / "api.github.com"
_PYDANTIC = CORPUS / "vcr" / "pydantic__pydantic-ai"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test data missing: {path} (lay ../shared beside the repository)")
    return path


@functools.cache
def octokit_routes() -> dict[str, list[Any]]:
    """GitHub REST response bodies (objects and arrays) by "METHOD /path"."""
    groups: dict[str, list[Any]] = defaultdict(list)
    for path in sorted(_need(_OCTOKIT).glob("*/normalized-fixture.json")):
        for exchange in json.loads(path.read_text()):
            body = exchange.get("response")
            if isinstance(body, dict | list):
                route = f"{exchange['method'].upper()} {exchange['path'].split('?')[0]}"
                groups[route].append(body)
    return dict(groups)


@functools.cache
def github_issues() -> list[dict[str, Any]]:
    """The 13 issues of octokit's paginate-issues scenario, five pages of one list."""
    path = _need(_OCTOKIT / "paginate-issues" / "normalized-fixture.json")
    return [issue for page in json.loads(path.read_text()) for issue in page["response"]]


@functools.cache
def openai_chat() -> tuple[list[Any], list[Any]]:
    """Request and response bodies of OpenAI chat completions recorded by pydantic-ai."""
    requests: list[Any] = []
    responses: list[Any] = []
    for path in sorted(_need(_PYDANTIC).rglob("*.yaml")):
        cassette = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        for exchange in (cassette or {}).get("interactions", []):
            request, response = exchange.get("request", {}), exchange.get("response", {})
            if not str(request.get("uri", "")).endswith("/v1/chat/completions"):
                continue
            body = response.get("parsed_body")
            if isinstance(body, dict) and body.get("object") == "chat.completion":
                responses.append(body)
                if isinstance(request.get("parsed_body"), dict):
                    requests.append(request["parsed_body"])
    return requests, responses


@functools.cache
def openai_document() -> dict[str, Any]:
    """The OpenAI OpenAPI document, with `nullable: true` as a "null" type."""
    doc = yaml.load(_need(OPENAPI).read_text(), Loader=yaml.CSafeLoader)
    _nullable_as_type(doc)
    return doc


def _nullable_as_type(node: Any) -> None:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.pop("nullable", None) is True:
                kind = item.get("type")
                if isinstance(kind, str):
                    item["type"] = [kind, "null"]
                elif isinstance(kind, list) and "null" not in kind:
                    item["type"] = [*kind, "null"]
                elif kind is None:
                    rest = dict(item)
                    item.clear()
                    item["anyOf"] = [rest, {"type": "null"}]
                if isinstance(item.get("enum"), list) and None not in item["enum"]:
                    item["enum"] = [*item["enum"], None]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def signup_answer(sent: dict[str, Any], id: str = "668f") -> dict[str, Any]:
    """What Auth0's signup answers to `sent`: `email` and `email_verified` for an email,
    `username` for a username, `phone_number` and `phone_verified` for a phone number (as its
    recordings in the go-vcr corpus show)."""
    out: dict[str, Any] = {"_id": id}
    if "email" in sent:
        out |= {"email": sent["email"], "email_verified": False}
    if "username" in sent:
        out["username"] = sent["username"]
    if "phone_number" in sent:
        out |= {"phone_number": sent["phone_number"], "phone_verified": False}
    return out
