"""A drift check: recorded requests picked by route, re-sent, and each route's live answers
compared with its recorded ones; and --update, which records the live answers."""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from virt import encoding
from virt.config import ConfigFile
from virt.drift import headers, shape
from virt.drift.finding import Finding, Kind, Severity, example
from virt.drift.send import Credentials, Sender, Skip, fill
from virt.errors import ConfigError
from virt.model import Interaction, Response, header, iso_utc
from virt.normalize import keys
from virt.normalize.route import template
from virt.redact import Redactor
from virt.store import Store
from virt.store.query import Filter
from virt.store.reads import SUPERSEDED

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PAGE = 200
log = logging.getLogger("virt")


@dataclass(frozen=True)
class Selection:
    """Which recordings a check re-sends."""

    host: str | None = None
    route: str | None = None
    """A glob over the route ("/items/{id}", "GET /items*", "*/items")."""
    methods: frozenset[str] = SAFE_METHODS
    sample: int = 5
    """Distinct requests re-sent per route, the first recorded."""
    ignore: tuple[str, ...] = ()
    """Globs over JSON paths ($.meta.*) or field names (updated_at) never reported."""

    def ignored(self, path: str) -> bool:
        last = path.rsplit(".", 1)[-1].removesuffix("[]")
        return any(
            fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(last, p) for p in self.ignore
        )


@dataclass
class RouteResult:
    """One route: what was sent, skipped and could not be sent, and what differs."""

    name: str
    planned: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    exchanges: list[tuple[Interaction, Response]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return len(self.exchanges)

    @property
    def worst(self) -> Severity | None:
        if self.errors or any(f.severity is Severity.BREAKING for f in self.findings):
            return Severity.BREAKING
        return Severity.COMPATIBLE if self.findings else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "route": self.name,
            "severity": None if self.worst is None else str(self.worst),
            "sent": self.sent,
            "planned": self.planned,
            "skipped": [{"request": r, "reason": why} for r, why in self.skipped],
            "errors": [{"request": r, "error": why} for r, why in self.errors],
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass
class Report:
    routes: list[RouteResult]
    dry_run: bool = False

    @property
    def worst(self) -> Severity | None:
        found = {r.worst for r in self.routes} - {None}
        if Severity.BREAKING in found:
            return Severity.BREAKING
        return Severity.COMPATIBLE if found else None

    def exit_code(self, fail_on: Severity = Severity.COMPATIBLE) -> int:
        """0 no drift, 1 compatible drift only, 2 breaking drift (or a request that could
        not be sent); with fail_on=breaking, compatible drift exits 0."""
        if self.worst is Severity.BREAKING:
            return 2
        if self.worst is Severity.COMPATIBLE and fail_on is Severity.COMPATIBLE:
            return 1
        return 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "worst": None if self.worst is None else str(self.worst),
            "routes": [r.as_dict() for r in self.routes],
        }


def ignore_rules(config: ConfigFile) -> tuple[str, ...]:
    """The `ignore` list of virt.toml's [drift] table: globs of JSON paths or field names."""
    drift = config.data.get("drift", {})
    rules = drift.get("ignore", []) if isinstance(drift, dict) else []
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise ConfigError(
            f"{config.source}: [drift] ignore must be a list of strings",
            hint='ignore = ["$.meta.*", "updated_at"]',
        )
    return tuple(rules)


def route_name(interaction: Interaction) -> str:
    r = interaction.request
    return f"{r.method} {r.origin}{template(r.path)}"


def _recordings(store: Store, selection: Selection) -> Iterator[Interaction]:
    after: int | None = None
    while True:
        page = store.find(Filter(host=selection.host), after=after, limit=PAGE)
        if not page:
            return
        ids = [i.id for i in page if i.id is not None]
        tags = store.tags(ids)
        for interaction in page:
            if SUPERSEDED not in tags.get(interaction.id or 0, ()):
                yield interaction
        after = ids[-1]


def plan(store: Store, selection: Selection) -> dict[str, list[Interaction]]:
    """The recordings to re-send, by route (sorted): at most `sample` distinct requests each."""
    routes: dict[str, list[Interaction]] = {}
    seen: set[tuple[str, str, bytes]] = set()
    for interaction in _recordings(store, selection):
        r = interaction.request
        if r.method.upper() not in selection.methods:
            continue
        name = route_name(interaction)
        if selection.route and not (
            fnmatch.fnmatchcase(name, selection.route)
            or fnmatch.fnmatchcase(template(r.path), selection.route)
            or fnmatch.fnmatchcase(name.split(" ", 1)[1], selection.route)
        ):
            continue
        key = (r.method, r.url, r.body)
        chosen = routes.setdefault(name, [])
        if key in seen or len(chosen) >= selection.sample:
            continue
        seen.add(key)
        chosen.append(interaction)
    return dict(sorted(routes.items()))


def check(
    store: Store,
    selection: Selection,
    credentials: Credentials,
    sender: Sender | None,
    redactor: Redactor | None,
    progress: Callable[[str], None] = lambda name: None,
) -> Report:
    """Re-send the planned requests (none when `sender` is None: a dry run) and compare."""
    results = []
    for name, recorded in plan(store, selection).items():
        progress(name)
        result = RouteResult(name)
        for interaction in recorded:
            target = f"{interaction.request.method} {interaction.request.url}"
            try:
                request = fill(interaction.request, credentials)
            except Skip as e:
                result.skipped.append((target, str(e)))
                continue
            result.planned.append(target)
            if sender is None:
                continue
            try:
                live = sender.send(request)
            except (httpx.HTTPError, encoding.CodingError, Skip) as e:
                result.errors.append((target, credentials.scrub(f"{type(e).__name__}: {e}")))
                continue
            if redactor is not None:
                live = redactor.response(live)  # reports and --update never hold a live secret
            result.exchanges.append((interaction, live))
        result.findings = compare_route(result.exchanges, selection)
        results.append(result)
    return Report(results, dry_run=sender is None)


def compare_route(
    exchanges: Sequence[tuple[Interaction, Response]], selection: Selection
) -> list[Finding]:
    """A route's findings: status changes, then per status the headers and the JSON shape."""
    findings: list[Finding] = []
    by_status: dict[int, list[tuple[Response, Response]]] = {}
    for interaction, live in exchanges:
        was = interaction.response.status
        if live.status != was:
            findings.append(
                Finding(
                    Kind.STATUS_CHANGED,
                    "status",
                    f"status was {was}, is now {live.status}",
                    example(was),
                    example(live.status),
                )
            )
        else:
            by_status.setdefault(was, []).append((interaction.response, live))
    for pairs in by_status.values():
        for old, new in pairs:
            findings += [f for f in headers.compare(old.headers, new.headers)]
        findings += _bodies(pairs, selection)
    unique: dict[tuple[Kind, str, str], Finding] = {}
    for f in findings:
        if not selection.ignored(f.where.removeprefix("header:")):
            unique.setdefault((f.kind, f.where, f.message), f)
    return list(unique.values())


NOT_JSON = object()
"""What _json gives for a body that is not JSON."""


def json_body(response: Response) -> Any:
    ctype = (header(response.headers, "content-type") or "").lower()
    body = response.body.strip()
    if not body or ("json" not in ctype and body[:1] not in (b"{", b"[")):
        return NOT_JSON
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return NOT_JSON


def _bodies(pairs: Sequence[tuple[Response, Response]], selection: Selection) -> list[Finding]:
    recorded, live = [], []
    for old, new in pairs:
        was, now = json_body(old), json_body(new)
        if was is NOT_JSON:
            continue
        if now is NOT_JSON:
            return [
                Finding(
                    Kind.BODY_NOT_JSON,
                    "$",
                    "the body is no longer JSON",
                    example(old.body[:80].decode("utf-8", "replace")),
                    example(new.body[:80].decode("utf-8", "replace")),
                )
            ]
        recorded.append(was)
        live.append(now)
    if not recorded:
        return []
    return shape.compare(recorded, live, selection.ignored)


def update(store: Store, report: Report, session: str) -> tuple[int, int]:
    """Record each live answer as a new interaction in `session`, the request as recorded (its
    placeholders, never the filled credentials), and tag the old recordings superseded.
    Returns (written, superseded)."""
    written = superseded = 0
    now = iso_utc(time.time())
    for route in report.routes:
        for old, live in route.exchanges:
            new = Interaction(request=old.request, response=live, session=session, recorded_at=now)
            store.insert(new, keys(old.request))
            written += 1
            if old.id is not None:
                tags = store.tags([old.id]).get(old.id, [])
                if SUPERSEDED not in tags:
                    store.set_tags(old.id, [*tags, SUPERSEDED])
                    superseded += 1
    return written, superseded
