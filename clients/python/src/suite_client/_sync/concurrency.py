"""The waiting primitives of the sync client (the async client has asyncio's)."""

from threading import Lock
from time import sleep

__all__ = ["Lock", "sleep"]
