"""Declarations made for the OpenAPI document alone, no longer solved once it is built.

FastAPI documents what a route declares, and solves every declaration on every request. Some are
there only so the document shows them: the security schemes (`current_principal` reads the header
itself) and the query models that `query_model` validates in one call. Each is marked with
`documentation_only`; `serve_without_documentation_only(app)` builds the document, then stops
solving them. The parameters they fed keep their `None` defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

D = TypeVar("D")

_DOCUMENTATION_ONLY: list[Any] = []


def documentation_only(declaration: D) -> D:
    """Mark a dependency as one that only documents the request (returns it unchanged)."""
    _DOCUMENTATION_ONLY.append(declaration)
    return declaration


def serve_without_documentation_only(app: FastAPI) -> None:
    """Build `app`'s OpenAPI document, then stop solving what only documents it.

    The security schemes alone were a tenth of a ping's CPU, and a query model FastAPI solves
    field by field half the todos list's dependency time. The document is built first and cached,
    so it stays as generated.
    """
    app.openapi()
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if isinstance(dependant, Dependant):
            _prune(dependant)


def _prune(dependant: Dependant) -> None:
    dependant.dependencies[:] = [
        sub for sub in dependant.dependencies if not _documents_only(sub.call)
    ]
    for sub in dependant.dependencies:
        _prune(sub)


def _documents_only(call: Callable[..., Any] | None) -> bool:
    return any(call is declaration for declaration in _DOCUMENTATION_ONLY)
