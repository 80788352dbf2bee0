"""The operations of an OpenAPI document: what each answers, and which one a request is for."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from virt.errors import OpenApiError
from virt.schema.openapi.convert import Schemas
from virt.schema.openapi.document import Refs, parse, pointer, validate

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True, slots=True)
class Answer:
    """One documented response of an operation."""

    status: int
    content_type: str | None
    schema: dict[str, Any] | None = field(repr=False)
    """Standalone JSON Schema 2020-12 of the body (see virt.schema.openapi.convert)."""
    example: Any | None = field(repr=False)
    """The media type's `example`, its first `examples` value, or the schema's example."""
    headers: tuple[tuple[str, str], ...]
    """Documented headers that have an example, default or single value, in document order."""


@dataclass(frozen=True, slots=True)
class _Server:
    host: str | None  # None: any host (a relative server URL, or none given)
    base: str  # "/v1", or "" at the root


@dataclass(frozen=True, eq=False)
class Operation:
    """One method on one path of an OpenAPI document. Its schemas share their parts with the
    other operations' (a component is converted once): read them, never modify them."""

    method: str
    template: str
    """The path with the first server's base path: "/v1/models/{model}"."""
    operation_id: str | None
    request_schema: dict[str, Any] | None = field(repr=False)
    """Standalone JSON Schema 2020-12 of a JSON (or form) request body; None without one."""
    request_example: Any | None = field(repr=False)
    responses: Mapping[int, Answer] = field(repr=False)
    """Per status. "2XX" stands for 200 (and so on) where no 2xx is listed; `default` for 200
    when no success is listed at all."""
    success: int | None
    """The lowest 2xx with a response, else None."""
    default: Answer | None = None
    """The `default` response as documented (status 0), for statuses not listed."""
    servers: tuple[_Server, ...] = field(default=(), repr=False)
    _patterns: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = field(default=(), repr=False)
    _rank: tuple[int, ...] = field(default=(), repr=False)

    def matches(self, path: str) -> dict[str, str] | None:
        """The path parameters, percent-decoded, if `path` (no query) fits the template under
        one of the operation's base paths; else None."""
        if len(path) > 1:
            path = path.rstrip("/") or "/"
        for pattern, names in self._patterns:
            m = pattern.fullmatch(path)
            if m is not None:
                return {n: unquote(v) for n, v in zip(names, m.groups(), strict=True)}
        return None


class OpenApi:
    """A loaded OpenAPI 3.0 or 3.1 document and its operations."""

    def __init__(self, doc: dict[str, Any], source: str, minor: int) -> None:
        self.source = source
        self.root = doc
        info = doc.get("info") or {}
        self.title = str(info.get("title", ""))
        self.version = str(info.get("version", ""))
        self._refs = Refs(doc, source)
        self._schemas = Schemas(self._refs, minor)
        self._operations = self._build()
        self._by_method: dict[str, list[Operation]] = {}
        for op in self._operations:
            self._by_method.setdefault(op.method, []).append(op)
        for ops in self._by_method.values():
            ops.sort(key=lambda op: (op._rank, op.template))

    def __repr__(self) -> str:
        return f"OpenApi({self.source!r}, {self.title!r} {self.version!r})"

    def operations(self) -> list[Operation]:
        """Every operation, in document order."""
        return list(self._operations)

    def find(self, method: str, host: str, path: str) -> Operation | None:
        """The operation `method` `path` on `host` is for: a server with a host must name the
        request's host (port aside); a literal segment beats a templated one
        (/v1/files/search before /v1/files/{id}), a named host beats any host."""
        hostname = _hostname(host)
        best: tuple[int, tuple[int, ...], str] | None = None
        found: Operation | None = None
        for op in self._by_method.get(method.upper(), ()):
            hosts = {s.host for s in op.servers} or {None}
            if None not in hosts and hostname not in hosts:
                continue
            if op.matches(path) is None:
                continue
            key = (0 if hostname in hosts else 1, op._rank, op.template)
            if best is None or key < best:
                best, found = key, op
        return found

    # building

    def _build(self) -> list[Operation]:
        doc = self.root
        # no servers means one at "/", on any host (OpenAPI 3.0 and 3.1, "servers")
        top = _servers(doc.get("servers")) or (_Server(None, ""),)
        out: list[Operation] = []
        for path, item in (doc.get("paths") or {}).items():
            at = pointer(("paths", path))
            item = self._refs.follow(item, at)
            if not isinstance(item, dict):
                continue
            servers = _servers(item.get("servers")) or top
            for method in METHODS:
                op = item.get(method)
                if isinstance(op, dict):
                    here = _servers(op.get("servers")) or servers
                    out.append(self._operation(method, path, op, here, f"{at}/{method}"))
        return out

    def _operation(
        self, method: str, path: str, op: dict[str, Any], servers: tuple[_Server, ...], at: str
    ) -> Operation:
        request_schema, request_example = self._request(op.get("requestBody"), f"{at}/requestBody")
        responses, default = self._responses(op.get("responses") or {}, f"{at}/responses")
        success = min((s for s in responses if 200 <= s < 300), default=None)
        patterns = tuple(_pattern(s.base + path) for s in servers)
        return Operation(
            method=method.upper(),
            template=(servers[0].base + path) if servers else path,
            operation_id=op.get("operationId") if isinstance(op.get("operationId"), str) else None,
            request_schema=request_schema,
            request_example=request_example,
            responses=responses,
            success=success,
            default=default,
            servers=servers,
            _patterns=patterns,
            _rank=_rank(path),
        )

    def _request(self, body: Any, at: str) -> tuple[dict[str, Any] | None, Any]:
        body = self._refs.follow(body, at)
        if not isinstance(body, dict):
            return None, None
        content = body.get("content") or {}
        media = _pick(content, request=True)
        if media is None:
            return None, None
        return self._media(content[media], f"{at}/content/{_escape(media)}")

    def _media(self, media: Any, at: str) -> tuple[dict[str, Any] | None, Any]:
        if not isinstance(media, dict):
            return None, None
        schema = self._schemas.standalone(media.get("schema"), f"{at}/schema")
        example = media.get("example")
        if example is None:
            example = self._first_example(media.get("examples"), f"{at}/examples")
        if example is None and schema is not None:
            example = _schema_example(schema)
        return schema, example

    def _first_example(self, examples: Any, at: str) -> Any:
        if not isinstance(examples, dict):
            return None
        for name, value in examples.items():
            value = self._refs.follow(value, f"{at}/{_escape(name)}")
            if isinstance(value, dict) and "value" in value:
                return value["value"]
        return None

    def _responses(
        self, responses: dict[str, Any], at: str
    ) -> tuple[dict[int, Answer], Answer | None]:
        listed: dict[int, Answer] = {}
        ranges: dict[int, Any] = {}
        default: Answer | None = None
        for code, response in responses.items():
            here = f"{at}/{_escape(code)}"
            if re.fullmatch(r"[1-5]\d\d", code):
                listed[int(code)] = self._answer(int(code), response, here)
            elif re.fullmatch(r"[1-5]XX", code, re.IGNORECASE):
                ranges[int(code[0])] = (response, here)
            elif code == "default":
                default = self._answer(0, response, here)
        for hundred, (response, here) in sorted(ranges.items()):
            if not any(hundred * 100 <= s < hundred * 100 + 100 for s in listed):
                listed[hundred * 100] = self._answer(hundred * 100, response, here)
        if default is not None and not any(200 <= s < 300 for s in listed):
            listed[200] = _with_status(default, 200)
        return dict(sorted(listed.items())), default

    def _answer(self, status: int, response: Any, at: str) -> Answer:
        response = self._refs.follow(response, at)
        if not isinstance(response, dict):
            return Answer(status, None, None, None, ())
        content = response.get("content") or {}
        media = _pick(content, request=False)
        schema, example = (None, None)
        if media is not None:
            schema, example = self._media(content[media], f"{at}/content/{_escape(media)}")
        headers: list[tuple[str, str]] = []
        for name, header in (response.get("headers") or {}).items():
            if name.lower() == "content-type":
                continue  # the spec says to ignore it: content_type is the media type
            header = self._refs.follow(header, f"{at}/headers/{_escape(name)}")
            value = _header_value(header) if isinstance(header, dict) else None
            if value is not None:
                headers.append((name, value))
        return Answer(status, media, schema, example, tuple(headers))


def load_openapi(data: bytes, source: str) -> OpenApi:
    """The OpenAPI 3.0 or 3.1 document in `data` (YAML or JSON), read from `source`.

    Raises OpenApiError naming `source` and the line and column when it does not parse, the
    JSON pointer and the rule when it does not validate; nothing else."""
    doc = parse(data, source)
    minor = validate(doc, source)
    try:
        return OpenApi(doc, source, minor)
    except RecursionError:
        raise OpenApiError(
            source, "", "depth", f"{source}: schemas nest too deeply to be read"
        ) from None


def _with_status(answer: Answer, status: int) -> Answer:
    return Answer(status, answer.content_type, answer.schema, answer.example, answer.headers)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pick(content: Any, *, request: bool) -> str | None:
    """The media type virt answers or reads with: JSON first, then a form (requests) or the
    first one listed (responses)."""
    if not isinstance(content, dict) or not content:
        return None
    names = [str(name) for name in content]
    for name in names:
        base = name.split(";")[0].strip().lower()
        if base == "application/json" or base.endswith("+json"):
            return name
    if request:
        for kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name in names:
                if name.split(";")[0].strip().lower() == kind:
                    return name
        return None
    return names[0]


def _schema_example(schema: dict[str, Any]) -> Any:
    if "example" in schema:
        return schema["example"]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    return None


def _header_value(header: dict[str, Any]) -> str | None:
    value = header.get("example")
    if value is None and isinstance(header.get("examples"), dict):
        for ex in header["examples"].values():
            if isinstance(ex, dict) and "value" in ex:
                value = ex["value"]
                break
    schema = header.get("schema")
    if value is None and isinstance(schema, dict):
        value = schema.get("example", schema.get("default", schema.get("const")))
        enum = schema.get("enum")
        if value is None and isinstance(enum, list) and len(enum) == 1:
            value = enum[0]
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _servers(servers: Any) -> tuple[_Server, ...]:
    if not isinstance(servers, list):
        return ()
    out: list[_Server] = []
    for server in servers:
        if not isinstance(server, dict) or not isinstance(server.get("url"), str):
            continue
        url = server["url"]
        for name, var in (server.get("variables") or {}).items():
            if isinstance(var, dict) and "default" in var:
                url = url.replace("{" + name + "}", str(var["default"]))
        parts = urlsplit(url)
        host = parts.hostname.lower() if parts.netloc and parts.hostname else None
        base = parts.path if parts.netloc else url.split("?")[0]
        base = "/" + base.strip("/") if base.strip("/") else ""
        candidate = _Server(host, base)
        if candidate not in out:
            out.append(candidate)
    return tuple(out)


def _hostname(host: str) -> str:
    host = host.lower()
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


_PARAM = re.compile(r"\{([^{}/]+)\}")


def _pattern(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A regex for `template` and the names of its groups, in order."""
    if len(template) > 1:
        template = template.rstrip("/") or "/"
    regex: list[str] = []
    names: list[str] = []
    pos = 0
    for m in _PARAM.finditer(template):
        regex.append(re.escape(template[pos : m.start()]))
        whole = template[m.start() - 1 : m.start()] in ("/", "") and template[
            m.end() : m.end() + 1
        ] in ("/", "")
        regex.append("([^/]+)" if whole else "([^/]+?)")
        names.append(m[1])
        pos = m.end()
    regex.append(re.escape(template[pos:]))
    return re.compile("".join(regex)), tuple(names)


def _rank(path: str) -> tuple[int, ...]:
    """Per segment, 0 literal, 1 partly templated, 2 a parameter: the smaller, the likelier."""
    ranks: list[int] = []
    for segment in path.strip("/").split("/"):
        found = _PARAM.findall(segment)
        ranks.append(0 if not found else 2 if _PARAM.fullmatch(segment) else 1)
    return tuple(ranks)
