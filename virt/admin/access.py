"""Who may call the admin API without a token: programs on this machine, never a web page.

Without a token the admin API trusts the loopback interface. A browser on this machine is on
loopback too, and a page it shows can make requests on another site's behalf: a cross-site form
or `fetch` (a "simple" request, sent without asking first), or a DNS name that the page's site
re-points at 127.0.0.1 (DNS rebinding), which makes the browser send its own Host. Those
requests carry a Host that is not this machine's, or an Origin or Sec-Fetch-Site that says
another site sent them; requests from curl, test code and SDKs carry neither.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

SIMPLE_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
"""Content types a browser sends cross-origin without a preflight request."""
_FIX = "set an admin token (--admin-token or VIRT_ADMIN_TOKEN) to call it from elsewhere"


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a name or address, IPv6 with or without brackets) is this machine."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def split_host(value: str) -> str:
    """The host part of a Host header (`127.0.0.1:8000`, `[::1]:8000`, `localhost`)."""
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def browser_refusal(headers: Mapping[str, str], started_host: str | None = None) -> str | None:
    """Why a request without a token must be refused, or None when it may pass.

    `headers` has lower-case names. The Host must name this machine (`localhost`, 127.0.0.0/8,
    `[::1]`, or the --host virt was started with), with any port; an Origin must be the
    server's own; Sec-Fetch-Site must not say another site sent the request.
    """
    host_header = headers.get("host", "")
    host = split_host(host_header)
    allowed = is_loopback_host(host) or (
        started_host is not None and host.strip("[]").lower() == started_host.strip("[]").lower()
    )
    if host_header and not allowed:
        return (
            f"Host {_shown(host_header)} is not this machine: without an admin token the admin "
            "API answers only requests addressed to localhost or a loopback address (a guard "
            f"against DNS rebinding); {_FIX}"
        )
    origin = headers.get("origin")
    # compared as text, never parsed: the server's own origin is exactly http://<Host>
    if origin is not None and origin.lower() != f"http://{host_header}".lower():
        return (
            f"Origin {_shown(origin)} is another site: without an admin token the admin API "
            f"refuses requests that a web page sends; {_FIX}"
        )
    site = headers.get("sec-fetch-site")
    if site in ("cross-site", "same-site"):
        return (
            f"Sec-Fetch-Site: {site}: without an admin token the admin API refuses requests "
            f"that a web page on another site sends; {_FIX}"
        )
    return None


def _shown(value: str) -> str:
    """A header value as an error message shows it: quoted, short, printable."""
    text = value if len(value) <= 100 else value[:97] + "..."
    return repr(text)


def upload_refusal(content_type: str | None) -> str | None:
    """Why an upload with this Content-Type is refused, or None. A browser sends the simple
    types (and none at all) cross-origin without asking first, so they never carry a file."""
    media = (content_type or "").partition(";")[0].strip().lower()
    if media and media not in SIMPLE_TYPES:
        return None
    shown = f"Content-Type {media}" if media else "no Content-Type"
    return (
        f"{shown}: send the file as application/octet-stream (curl: -H 'Content-Type: "
        "application/octet-stream' --data-binary @FILE); web pages can send text, form and "
        "untyped bodies to any site, so the admin API takes no file in them"
    )
