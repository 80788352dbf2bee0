"""The image's HEALTHCHECK: the admin API's /__virt/health answers (replay, passthrough), or,
while recording (VIRT_MODE=record, no admin API), the proxy port accepts connections."""

import os
import socket
import sys
import urllib.request

mode = os.environ.get("VIRT_MODE", "replay")
try:
    if mode == "record":
        port = int(os.environ.get("VIRT_PROXY_PORT", "8080"))
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    else:
        port = int(os.environ.get("VIRT_PORT", "8000"))
        # no proxy: HTTP_PROXY may be set for the services around virt, never for virt itself
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{port}/__virt/health", timeout=2) as answer:
            answer.read()
except (OSError, ValueError) as e:
    print(f"virt is not healthy: {e}", file=sys.stderr)
    sys.exit(1)
