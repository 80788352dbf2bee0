"""virt: service virtualization from recordings."""

from virt.errors import VirtError
from virt.model import Interaction, Request, Response

__version__ = "0.1.0"

__all__ = ["Interaction", "Request", "Response", "Store", "VirtError", "__version__"]


def __getattr__(name: str) -> object:
    # Store pulls in sqlite-utils; load it only when asked for
    if name == "Store":
        from virt.store import Store

        return Store
    raise AttributeError(name)
