"""The suite's one OpenAPI document: every service's own, merged. Each service's paths already
sit under its prefix, and components they share (the Problem schema, the security schemes) are
the same in each, so they appear once; anything else that collides is refused.

    python -m gateway.openapi > openapi.json

The gateway serves it at /api/v1/openapi.json, with a docs page at /api/v1/docs.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

from tools.services import SERVICES

DESCRIPTION = (
    "The suite's API through its gateway: accounts and sessions (auth), profiles (users), "
    "todos and files. Every error is an RFC 9457 problem (`application/problem+json`) with a "
    "stable `code` and the `request_id` to quote. Log in with POST /api/v1/auth/login and send "
    "the access token as `Authorization: Bearer <token>`."
)


def service_document(package: str) -> dict[str, Any]:
    """A service's document as it serves it; nothing is started or connected for it."""
    main = importlib.import_module(f"{package}.main")
    settings = importlib.import_module(f"{package}.settings").Settings.model_construct()
    document: dict[str, Any] = main.create_app(settings).openapi()
    return document


def merged_document() -> dict[str, Any]:
    """Every service's document in one."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "suite", "version": "1", "description": DESCRIPTION},
        "paths": {},
        "components": {},
        "tags": [],
    }
    for service in SERVICES:
        document = service_document(service.package)
        for path, item in document["paths"].items():
            if path in merged["paths"]:
                raise ValueError(f"{service.name}: {path} is another service's")
            merged["paths"][path] = item
        for section, entries in document.get("components", {}).items():
            known = merged["components"].setdefault(section, {})
            for name, entry in entries.items():
                if name in known and known[name] != entry:
                    raise ValueError(f"{service.name}: components.{section}.{name} differs")
                known[name] = entry
        merged["tags"].append(
            {"name": service.name, "description": document["info"]["description"]}
        )
    return merged


def main() -> int:
    json.dump(merged_document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
