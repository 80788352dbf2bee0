"""The seam to mitmproxy: conversions and running a proxy in-process."""

REPLAYED = "virt.replayed"
"""flow.metadata key set on flows that virt answered from recordings, so recorders skip them."""

MAX_BODY = "virt.max_body"
"""flow.metadata key: the size past which a flow's bodies are refused, decoded or not."""
