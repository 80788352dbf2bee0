"""What every page shares: the templates, the security headers, the static files."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import HTTPException
from fastapi.responses import HTMLResponse, Response

UI = "/__virt/ui"

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""Content-Security-Policy of every page: only virt's own script and style run, no inline
script, so a recorded value that slipped past escaping still could not run."""
BODY_POLICY = "default-src 'none'; img-src 'self'; sandbox"
"""Content-Security-Policy of a recorded body served as is: nothing in it runs, even opened
on its own."""
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("virt.ui", "templates"),
    autoescape=True,  # every recorded value is hostile: escaped unless a template says otherwise
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["UI"] = UI


def _query(params: dict[str, Any], **changed: Any) -> str:
    """A query string of `params` with `changed` set; empty values are left out."""
    merged = {**params, **changed}
    kept = {k: v for k, v in merged.items() if v not in (None, "")}
    return ("?" + urlencode(kept)) if kept else ""


_env.globals["query"] = _query
_env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page rendered from `template`, with the security headers."""
    html = _env.get_template(template).render(**context)
    response = HTMLResponse(html, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


def fragment(template: str, **context: Any) -> str:
    """A piece of a page (rows of a list) as escaped HTML text."""
    return _env.get_template(template).render(**context)


_STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",  # virt's own icon; a browser asks /favicon.ico otherwise, a miss
}
_STATIC = {
    f.name: f.read_bytes()
    for f in resources.files("virt.ui").joinpath("static").iterdir()
    if f.name.endswith(tuple(_STATIC_TYPES))
}
"""The page's script and style, read once: a fixed set of names, never a path from a request."""


def static(name: str) -> Response:
    """One of the page's own assets."""
    content = _STATIC.get(name)
    if content is None:
        raise HTTPException(404, f"no static file {name!r}")
    suffix = name[name.rfind(".") :]
    response = Response(content, media_type=_STATIC_TYPES[suffix])
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "max-age=300"
    return response
