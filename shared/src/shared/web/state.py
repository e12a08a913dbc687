"""The one reader of `app.state`: what a process of a service holds, typed.

`create_service_app` attaches a `ProcessState`; its lifespan fills in the runtime and the service's
components. Dependencies reach them only through the functions here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi import FastAPI, Request

from shared.runtime import Runtime
from shared.web.health import HealthState

C = TypeVar("C")


@dataclass
class ProcessState:
    """Health from creation on; runtime and components while the lifespan runs."""

    health: HealthState = field(default_factory=HealthState)
    runtime: Runtime | None = None
    components: object = None


def attach_state(app: FastAPI) -> ProcessState:
    """Give `app` a fresh process state (at creation, before anything runs)."""
    state = ProcessState()
    app.state.process = state
    return state


def process_state(app: FastAPI) -> ProcessState:
    """The state `attach_state` gave `app`."""
    state = getattr(app.state, "process", None)
    if not isinstance(state, ProcessState):
        raise RuntimeError("this app was not built by create_service_app")
    return state


def request_runtime(request: Request) -> Runtime:
    """The runtime of the process serving `request` (for dependencies that need only a part of it:
    each dependency FastAPI solves costs a request about 10 us)."""
    runtime = process_state(request.app).runtime
    if runtime is None:
        raise RuntimeError("the app's lifespan has not started")
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """The process's runtime (a dependency; async, so FastAPI calls it without a thread hop)."""
    return request_runtime(request)


def components_of(request: Request, kind: type[C]) -> C:
    """The service's components, checked to be of the type the service declared."""
    components = process_state(request.app).components
    if not isinstance(components, kind):
        raise RuntimeError(f"the app's components are not {kind.__name__} (not started?)")
    return components


def components_dependency(kind: type[C]) -> Callable[[Request], Awaitable[C]]:
    """A dependency giving the service's components as `kind`: `Depends(components_dependency(X))`."""

    async def get_components(request: Request) -> C:
        return components_of(request, kind)

    return get_components
