"""Which upstream a direct-door request stands for: a --route prefix, the Host, or the only one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from virt.errors import ConfigError
from virt.model import DEFAULT_PORTS
from virt.store import Origin


@dataclass(frozen=True, slots=True)
class Route:
    """`--route /github=https://api.github.com`: /github/x stands for https://api.github.com/x."""

    prefix: str
    origin: Origin
    base_path: str = ""

    @classmethod
    def parse(cls, spec: str) -> Route:
        prefix, sep, url = spec.partition("=")
        parts = urlsplit(url)
        if not sep or not prefix.startswith("/") or parts.scheme not in DEFAULT_PORTS:
            raise ConfigError(
                f"bad --route {spec!r}",
                hint="write PREFIX=URL, for example --route /github=https://api.github.com",
            )
        if not parts.hostname:
            raise ConfigError(f"bad --route {spec!r}: no host in {url!r}")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError as e:  # a port that is not a number, or out of range
            raise ConfigError(f"bad --route {spec!r}: {e}") from e
        return cls(
            prefix.rstrip("/"), Origin(parts.scheme, parts.hostname, port), parts.path.rstrip("/")
        )

    def strip(self, path: str) -> str | None:
        """The upstream path for `path`, or None when the route does not cover it."""
        if not (self.prefix == "" or path == self.prefix or path.startswith(self.prefix + "/")):
            return None
        rest = path[len(self.prefix) :]
        return (self.base_path + rest) or "/"


class Router:
    """Resolves a direct request's upstream: by route, else by Host header, else the only host."""

    def __init__(self, routes: Sequence[Route], origins: Callable[[], list[Origin]]) -> None:
        # longest prefix first, so /api/v2 wins over /api
        self.routes = sorted(routes, key=lambda r: len(r.prefix), reverse=True)
        self._origins = origins

    def resolve(self, path: str, host_header: str | None) -> tuple[Origin, str] | str:
        """(origin, upstream path), or a sentence saying why no upstream could be chosen."""
        for route in self.routes:
            upstream_path = route.strip(path)
            if upstream_path is not None:
                return route.origin, upstream_path
        origins = self._origins()
        try:
            name, port = split_host(host_header) if host_header else ("", None)
        except ValueError:  # the direct door answers 400 before it asks; others name no host
            name, port = "", None
        if name:
            named = [o for o in origins if o.host == name and port in (None, o.port)]
            if named:
                # https first, then by port: the same choice in every process
                named.sort(key=lambda o: (o.scheme != "https", o.port))
                return named[0], path
        if len(origins) == 1:
            return origins[0], path
        if not origins:
            return "the database has no recordings yet"
        hosts = ", ".join(o.url for o in origins[:5])
        return (
            f"{len(origins)} upstreams are recorded ({hosts}) and the request names none of them: "
            "use --route PREFIX=URL or send a Host header naming one"
        )


def split_host(value: str) -> tuple[str, int | None]:
    """("api.example.com", 8443) from a Host header value; IPv6 literals keep their colons.

    Raises ValueError for a port that is not 1 to 5 ASCII digits up to 65535 ("²" is a digit to
    str.isdigit, and int() refuses 5,000 of them): callers answer 400, as RFC 9112 asks.
    """
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"Host {value[:64]!r} has text after its IPv6 address")
        port = rest[1:]
    else:
        name, _, port = value.partition(":")
    if not port:
        return name.lower(), None
    if not (port.isascii() and port.isdigit() and len(port) <= 5 and int(port) <= 65535):
        raise ValueError(f"Host {value[:64]!r} has no valid port")
    return name.lower(), int(port)
