"""The service under test: GET /checkout/<item> gets an OAuth token, reads the item from the
catalog API and charges it with the payments API, all over HTTPS.

Standard library only, so that it runs on python:3.11-slim as it is. urllib follows
HTTPS_PROXY and NO_PROXY, and its default TLS context trusts SSL_CERT_FILE: that is all it
takes to send it through virt.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TLS = ssl.create_default_context()  # SSL_CERT_FILE: virt's bundle (public roots plus its CA)


def call(method: str, url: str, headers: dict[str, str], body: bytes | None = None) -> dict:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    with urllib.request.urlopen(request, context=TLS, timeout=10) as answer:
        return json.load(answer)


def checkout(item: str) -> dict:
    basic = base64.b64encode(f"{os.environ['CLIENT_ID']}:{os.environ['CLIENT_SECRET']}".encode())
    token = call(
        "POST",
        f"{os.environ['AUTH_URL']}/oauth/token",
        {
            "Authorization": f"Basic {basic.decode()}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "shop"}).encode(),
    )["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    product = call("GET", f"{os.environ['CATALOG_URL']}/items/{item}", bearer)
    charge = call(
        "POST",
        f"{os.environ['PAYMENTS_URL']}/v1/charges",
        {**bearer, "Content-Type": "application/json"},
        json.dumps({"item": product["id"], "amount": product["price"]}).encode(),
    )
    return {"item": product["name"], "charged": charge["amount"], "charge": charge["id"]}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/checkout/"):
            try:
                status, answer = 200, checkout(self.path.removeprefix("/checkout/"))
            except (OSError, KeyError, ValueError) as e:  # an upstream (or virt) said no
                status, answer = 502, {"detail": f"{type(e).__name__}: {e}"}
        elif self.path == "/health":
            status, answer = 200, {"status": "ok"}
        else:
            status, answer = 404, {"detail": "not found"}
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    host = os.environ.get("HOST", "0.0.0.0")
    ThreadingHTTPServer((host, int(os.environ.get("PORT", "8001"))), Handler).serve_forever()
