"""Which operation of the suite's OpenAPI document a client method performs.

The method's name is the document's operationId; the tests compare every decorated method with
the merged document, so the client and the API cannot drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

ROUTE_ATTRIBUTE = "__suite_route__"


@dataclass(frozen=True)
class Route:
    method: str
    path: str


def operation(method: str, path: str) -> Callable[[F], F]:
    """Mark a method as the client of `method path` (a path template of the document)."""

    def mark(function: F) -> F:
        setattr(function, ROUTE_ATTRIBUTE, Route(method, path))
        return function

    return mark


def route_of(function: object) -> Route | None:
    route = getattr(function, ROUTE_ATTRIBUTE, None)
    return route if isinstance(route, Route) else None
