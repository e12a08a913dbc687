"""The waiting primitives of the async client (the sync client has threading's and time's)."""

from asyncio import Lock, sleep

__all__ = ["Lock", "sleep"]
