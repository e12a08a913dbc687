"""Cross-origin access for browser clients: off unless the operator names the origins allowed.

Only exact origins, never a wildcard: the login endpoint sets a cookie, so credentialed requests
are allowed, and the CORS rules forbid those with `*` anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

# What a browser client of this API sends and needs to read.
ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "If-Range",
    "Range",
    "Idempotency-Key",
    "X-Device-Token",
    "X-Request-ID",
]
EXPOSED_HEADERS = [
    "ETag",
    "Location",
    "Retry-After",
    "Content-Range",
    "Content-Disposition",
    "X-Request-ID",
]


def install_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Answer preflights and tag responses for `origins` only; with none, nothing changes."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_credentials=True,
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=600,
    )
