"""Liveness and readiness as Kubernetes uses them.

Liveness checks nothing outside the process, so a database outage never restarts pods. Readiness
checks what the service cannot work without (its database at the migration head, Redis where
required) and turns 503 from SIGTERM on. A broker outage is reported as degraded but keeps the
replica ready: the outbox keeps writes safe, and failing every replica at once would turn a broker
blip into a full outage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

CHECK_TIMEOUT_SECONDS = 2.0

Check = Callable[[], Awaitable[None]]


@dataclass
class HealthState:
    """What readiness looks at; the lifespan registers checks, the server flips `draining`."""

    required: dict[str, Check] = field(default_factory=dict)
    optional: dict[str, Check] = field(default_factory=dict)
    draining: bool = False


async def _run(check: Check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):  # not wait_for: see shared.tasks
            await check()
    except Exception as exc:
        detail = str(exc) or type(exc).__name__
        return {"status": "down", "detail": detail[:300]}
    return {"status": "up", "duration_ms": round((time.perf_counter() - started) * 1000, 1)}


def health_router(state_of: Callable[[Request], HealthState]) -> APIRouter:
    """`/health/liveness` and `/health/readiness`, reading the state `state_of` finds."""
    router = APIRouter(prefix="/health", tags=["health"], include_in_schema=False)

    @router.get("/liveness")
    async def liveness() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/readiness")
    async def readiness(request: Request) -> JSONResponse:
        return await _readiness(state_of(request))

    return router


async def ready(state: HealthState) -> bool:
    """Whether readiness would answer 200 now: not draining, and every required check up."""
    if state.draining:
        return False
    results = await asyncio.gather(*(_run(check) for check in state.required.values()))
    return all(result["status"] == "up" for result in results)


async def _readiness(state: HealthState) -> JSONResponse:
    names = [*state.required, *state.optional]
    results = await asyncio.gather(
        *(_run(c) for c in [*state.required.values(), *state.optional.values()])
    )
    checks = dict(zip(names, results, strict=True))
    failed = [name for name in state.required if checks[name]["status"] != "up"]
    degraded = [name for name in state.optional if checks[name]["status"] != "up"]
    if state.draining:
        status, code = "draining", 503
    elif failed:
        status, code = "unavailable", 503
    else:
        status, code = ("degraded" if degraded else "ready"), 200
    return JSONResponse({"status": status, "checks": checks}, status_code=code)
