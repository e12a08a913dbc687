"""The auth service's app factory."""

import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from auth_service.client_address import parse_trusted_proxies
from auth_service.consumers import build_handlers
from auth_service.issuer import TokenIssuer, load_private_key
from auth_service.models import EVENT_TABLES
from auth_service.passwords import AsyncPasswordHasher, HashParams
from auth_service.router import internal_router, public_router, router
from auth_service.schemas import JsonWebKeySet
from auth_service.service import AuthComponents, AuthService, revoked_sessions
from auth_service.settings import Settings
from auth_service.throttle import LoginThrottle, ThrottleRules
from shared.messaging.revocations import Snapshot
from shared.tokens import load_public_keys, public_jwk
from shared.web.app import Runtime, ServiceSpec, create_service_app

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

logger = logging.getLogger("auth_service")


def build_components(settings: Settings, runtime: Runtime) -> AuthComponents:
    """Everything auth needs per process, built once: signing key, hasher, throttle."""
    assert runtime.redis is not None, "auth needs AUTH_REDIS_URL"
    public_keys = load_public_keys(settings.jwt_public_keys)
    return AuthComponents(
        issuer=TokenIssuer(
            private_key=load_private_key(settings.jwt_private_key.get_secret_value()),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
            published_kids=public_keys,
        ),
        hasher=AsyncPasswordHasher(
            HashParams(
                memory_cost=settings.password_hash_memory_kib,
                time_cost=settings.password_hash_time_cost,
            ),
            max_concurrent=settings.password_hash_concurrency,
        ),
        throttle=LoginThrottle(
            runtime.redis,
            ThrottleRules(
                pair_max_failures=settings.login_pair_max_failures,
                pair_window_seconds=settings.login_pair_window_seconds,
                account_max_checks=settings.login_account_hourly_checks,
            ),
        ),
        trusted_proxies=parse_trusted_proxies(settings.trusted_proxies),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        reuse_grace=timedelta(seconds=settings.refresh_reuse_grace_seconds),
        revocation_horizon=revocation_horizon(settings),
    )


def revocation_horizon(settings: Settings) -> timedelta:
    """How long after revocation a session's access tokens could still be presented."""
    return timedelta(seconds=settings.access_token_ttl_seconds + settings.jwt_leeway_seconds)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings come from the environment unless given (tests)."""
    settings = settings or Settings()

    async def on_startup(app: FastAPI, runtime: Runtime) -> None:
        app.state.auth = build_components(settings, runtime)
        app.state.jwks = JsonWebKeySet.model_validate(
            {
                "keys": [
                    public_jwk(key, kid)
                    for kid, key in load_public_keys(settings.jwt_public_keys).items()
                ]
            }
        )
        if settings.admin_password is not None:
            async with runtime.sessions() as db:
                created = await AuthService(db=db, parts=app.state.auth).ensure_admin(
                    email=settings.admin_email or "",
                    username=settings.admin_username or "",
                    password=settings.admin_password.get_secret_value(),
                )
            if created:
                logger.info(
                    "first admin account created", extra={"username": settings.admin_username}
                )

    async def on_shutdown(app: FastAPI, _runtime: Runtime) -> None:
        components: AuthComponents = app.state.auth
        components.hasher.close()

    def revocations_from_db(runtime: Runtime) -> Snapshot:
        # Auth is the source of truth: it reads its own database, not its own endpoint.
        horizon = revocation_horizon(settings)

        async def snapshot() -> Mapping[str, float]:
            async with runtime.sessions() as db:
                return await revoked_sessions(db, horizon=horizon)

        return snapshot

    app = create_service_app(
        ServiceSpec(
            title="Auth",
            settings=settings,
            routers=[router, public_router, internal_router],
            event_tables=EVENT_TABLES,
            migrations_dir=MIGRATIONS_DIR,
            handlers=build_handlers(settings),
            requires_redis=True,  # login throttling lives there
            on_startup=on_startup,
            on_shutdown=on_shutdown,
            revocation_snapshot=revocations_from_db,
        )
    )
    return app
