"""What readiness checks for a service: its database at the code's migration head, Redis, the
broker, and the revoked sessions loaded."""

from __future__ import annotations

from sqlalchemy import text

from shared.migrations import known_revisions
from shared.runtime import Runtime
from shared.spec import ServiceSpec
from shared.web.health import HealthState


def register_checks(
    health: HealthState, runtime: Runtime, spec: ServiceSpec, *, tracks_revocations: bool
) -> None:
    """Add the service's checks: required ones gate readiness, optional ones only report."""
    head, older = known_revisions(spec.migrations_dir)

    async def database() -> None:
        async with runtime.engine.connect() as connection:
            current = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
        # Behind the code (or empty) is not ready. A revision this code does not know was made by
        # a newer release (migrations are expand-then-contract), so during a rolling deploy the
        # old replicas keep serving instead of all turning unready at once.
        if current is None or current in older:
            raise RuntimeError(f"migrations at {current}, code expects {head}")

    async def broker() -> None:
        await runtime.broker.connection()

    health.required["database"] = database
    if runtime.redis is not None:
        client = runtime.redis

        async def redis() -> None:
            await client.ping()

        (health.required if spec.requires_redis else health.optional)["redis"] = redis
    health.optional["broker"] = broker
    if tracks_revocations:

        async def revocations() -> None:
            # Until the first snapshot, a revoked token could pass: not ready to serve.
            if runtime.revocations.synced_at is None:
                raise RuntimeError("revoked sessions not loaded yet")

        health.required["revocations"] = revocations
