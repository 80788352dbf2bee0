"""The example's upstreams, one per process (API=auth|catalog|payments, on PORT, over HTTPS
with the files in TLS_DIR): an OAuth client-credentials provider, a catalog and a payments API.

They stand in for the real APIs you record once; replay never needs them.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ITEMS = {
    "1": {"id": 1, "name": "kettle", "price": 2500},
    "2": {"id": 2, "name": "mug", "price": 900},
}
TOKENS: set[str] = set()


class Handler(BaseHTTPRequestHandler):
    api = os.environ.get("API", "catalog")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.api == "auth" and self.path == "/oauth/token":
            if not self.headers.get("Authorization", "").startswith("Basic "):
                return self.answer(401, {"error": "invalid_client"})
            token = "tok_" + secrets.token_hex(16)
            TOKENS.add(token)
            return self.answer(
                200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
            )
        if self.api == "payments" and self.path == "/v1/charges" and self.authorized():
            charge = json.loads(body)
            return self.answer(201, {"id": "ch_" + secrets.token_hex(8), **charge})
        self.answer(404, {"error": "not found"})

    def do_GET(self) -> None:
        item = self.path.removeprefix("/items/")
        if self.api == "catalog" and item in ITEMS and self.authorized():
            return self.answer(200, ITEMS[item])
        self.answer(404, {"error": "not found"})

    def authorized(self) -> bool:
        """A bearer token in the provider's format (the upstreams share no state)."""
        return self.headers.get("Authorization", "").startswith("Bearer tok_")

    def answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    folder = Path(os.environ.get("TLS_DIR", "/upstream-tls"))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server = ThreadingHTTPServer(
        (os.environ.get("HOST", "0.0.0.0"), int(os.environ["PORT"])), Handler
    )
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
