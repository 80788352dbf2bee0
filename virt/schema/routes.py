"""The learned routes of a store, found by name and described: what GET /__virt/schemas and
`virt schema` show.

Finding a route costs one index seek per recorded route group; a route's schemas are worked out
(from at most SAMPLE recordings) only for the routes asked for, so a page of twenty routes of a
million recordings is as quick as one of ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from virt.errors import SchemaError
from virt.model import DEFAULT_PORTS, Request
from virt.normalize.route import template
from virt.normalize.uri import path_form
from virt.schema.book import RouteBook, RouteProfile
from virt.store import Store

SCAN = 10_000
"""Route groups looked at by one listing: past that, the listing says it is truncated."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})

NO_SUCCESS = "no successful (2xx) answer is recorded: there is nothing to learn an answer from"
NOT_JSON = (
    "its recorded answers are not JSON (bytes, text or a pack): a template of bytes would be a "
    "wrong answer in disguise, so its unrecorded requests stay misses"
)
STAGE_OFF = "the fallback stage is off (--no-fallback): unrecorded requests are misses"


@dataclass(frozen=True, slots=True)
class Route:
    """One recorded route group, named as the journal names it, not yet profiled."""

    key: str
    method: str
    origin: str
    """scheme://host:port, as in RouteProfile"""
    template: str
    request: Request
    """Its first recorded request (no response read): what RouteBook.profile needs."""

    @property
    def name(self) -> str:
        return f"{self.method} {self.origin}{self.template}"

    @property
    def url(self) -> str:
        """The origin without a default port, and the template: how people write it."""
        return short_origin(self.origin) + self.template


@dataclass(frozen=True, slots=True)
class Found:
    routes: list[Route]
    """Sorted by origin, template and method."""
    truncated: bool
    """More than SCAN route groups are recorded: some were not looked at."""


def find(
    store: Store, route: str | None = None, host: str | None = None, scan: int = SCAN
) -> Found:
    """The recorded routes whose name fits `route` (see `fits`) on `host` (a name, or
    name:port), sorted."""
    groups = store.route_groups(scan + 1)
    truncated = len(groups) > scan
    out: list[Route] = []
    for _, key in groups[:scan]:
        first = store.group(key, 1)
        if not first:
            continue  # deleted meanwhile
        request = first[0][1]
        found = Route(
            key,
            request.method.upper(),
            f"{request.scheme}://{request.host}:{request.port}",
            template(path_form(request.path)),
            request,
        )
        if (host is None or _on_host(found, host)) and (route is None or fits(found, route)):
            out.append(found)
    out.sort(key=lambda r: (r.origin, r.template, r.method))
    return Found(out, truncated)


def fits(route: Route, asked: str) -> bool:
    """Whether `asked` names `route`: `METHOD /path` (the template, or a recorded path that
    has it, with or without the origin), else a case-insensitive part of its name."""
    method, _, rest = asked.strip().partition(" ")
    if method.upper() in METHODS and rest.strip():
        if method.upper() != route.method:
            return False
        path = rest.strip()
        for origin in (route.origin, short_origin(route.origin)):
            if path.startswith(origin + "/"):
                path = path[len(origin) :]
                break
        return path.startswith("/") and route.template in (path, template(path_form(path)))
    return asked.strip().lower() in route.name.lower()


def exact(routes: Sequence[Route], asked: str) -> list[Route]:
    """The routes `asked` names as `METHOD /path` among `routes`, else all of them."""
    method, _, rest = asked.strip().partition(" ")
    if method.upper() in METHODS and rest.strip():
        return [r for r in routes if fits(r, asked)]
    named = [r for r in routes if asked.strip().lower() in (r.name.lower(), r.url.lower())]
    return named or list(routes)


def profile(book: RouteBook, route: Route) -> RouteProfile | None:
    """The profile of `route` (its schemas, worked out now or kept from before)."""
    return book.profile(route.request, route.key)


def why_not(profile: RouteProfile, stage_on: bool = True) -> str | None:
    """Why an unrecorded request on this route gets no fallback answer; None when it gets one."""
    if profile.success is None:
        return NO_SUCCESS
    if not profile.structured:
        return NOT_JSON
    return None if stage_on else STAGE_OFF


def describe(profile: RouteProfile, stage_on: bool = True) -> dict[str, Any]:
    """The profile as shown: RouteProfile.as_dict, whether the fallback stage answers the
    route, and why not. A route whose schemas cannot be worked out says so, and the others
    are shown as usual."""
    try:
        shown = profile.as_dict()
    except SchemaError as e:
        return {
            "route": profile.name,
            "method": profile.method,
            "origin": profile.origin,
            "template": profile.template,
            "recordings": len(profile.recordings),
            "structured": False,
            "success": None,
            "request": None,
            "query": None,
            "responses": {},
            "fallback": False,
            "why": f"its schemas cannot be worked out: {e}",
        }
    why = why_not(profile, stage_on)
    return {**shown, "fallback": why is None, "why": why}


def _on_host(route: Route, host: str) -> bool:
    asked = host.strip().lower()
    if asked.startswith("["):  # [::1]:8080
        name, _, rest = asked[1:].partition("]")
        port = rest.removeprefix(":")
    elif asked.count(":") == 1:
        name, _, port = asked.partition(":")
    else:  # a name, or an IPv6 address without brackets
        name, port = asked, ""
    _, _, hostport = route.origin.partition("://")
    recorded, _, recorded_port = hostport.rpartition(":")
    return recorded.lower().strip("[]") == name and port in ("", recorded_port)


def short_origin(origin: str) -> str:
    """`https://h:443` as `https://h`, an IPv6 address in brackets: a URL."""
    scheme, _, hostport = origin.partition("://")
    host, _, port = hostport.rpartition(":")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if DEFAULT_PORTS.get(scheme) == int(port or 0):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
