"""Answering requests from recordings: the direct door (ASGI) and the proxy door (mitmproxy)."""
