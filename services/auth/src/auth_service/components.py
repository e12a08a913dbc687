"""The auth service's per-process parts: built once at start-up, shared by requests and handlers."""

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from auth_service.client_address import IPNetwork, parse_trusted_proxies
from auth_service.devices import DeviceTokens
from auth_service.issuer import TokenIssuer, load_private_key
from auth_service.limits import HourlyBudget
from auth_service.mail import SmtpConfig, SmtpMailer
from auth_service.metrics import show_every_throttling_layer
from auth_service.mfa_challenges import MfaChallenges
from auth_service.oidc import OidcProviders
from auth_service.passwords import AsyncPasswordHasher, HashParams
from auth_service.schemas import JsonWebKeySet
from auth_service.service import (
    AccountService,
    LinkRules,
    Passwords,
    SessionRules,
    SessionService,
)
from auth_service.settings import Settings
from auth_service.throttle import LoginThrottle, ThrottleRules
from shared.messaging.revocations import Snapshot
from shared.pagination import CursorCodec
from shared.runtime import Runtime
from shared.tokens import load_public_keys, public_jwk

logger = logging.getLogger("auth_service")


@dataclass(frozen=True)
class Components:
    issuer: TokenIssuer
    passwords: Passwords
    throttle: LoginThrottle
    rules: SessionRules
    trusted_proxies: Sequence[IPNetwork]
    jwks: JsonWebKeySet
    """Every key tokens may be signed with, as published at /.well-known/jwks.json."""
    devices: DeviceTokens
    secure_cookies: bool
    """Cookies only over HTTPS (everywhere but local development and tests)."""
    links: LinkRules
    mailer: SmtpMailer
    mail_budget: HourlyBudget
    """Verification and reset mails asked for, per account (or email) and per address, hourly."""
    reset_budget: HourlyBudget
    """Password resets tried per address, hourly."""
    require_verified_email: bool
    cursors: CursorCodec
    """Signs the security log's page cursors."""
    challenges: MfaChallenges
    """Logins waiting for their second factor."""
    oidc: OidcProviders
    """The OpenID providers of AUTH_OIDC_PROVIDERS, and sign-ins pending at them."""


@contextlib.asynccontextmanager
async def build_components(settings: Settings, runtime: Runtime) -> AsyncIterator[Components]:
    """Signing key, hasher and throttle; then the first admin, if the settings name one."""
    if runtime.redis is None:
        raise ValueError("auth needs AUTH_REDIS_URL: login throttling lives there")
    public_keys = load_public_keys(settings.jwt_public_keys)
    show_every_throttling_layer()
    hasher = AsyncPasswordHasher(
        HashParams(
            memory_cost=settings.password_hash_memory_kib,
            time_cost=settings.password_hash_time_cost,
        ),
        max_concurrent=settings.password_hash_concurrency,
        nice=settings.password_hash_nice,
    )
    components = Components(
        issuer=TokenIssuer(
            private_key=load_private_key(settings.jwt_private_key.get_secret_value()),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
            published_kids=public_keys,
        ),
        passwords=Passwords(hasher),
        throttle=LoginThrottle(
            runtime.redis,
            ThrottleRules(
                pair_max_failures=settings.login_pair_max_failures,
                pair_window_seconds=settings.login_pair_window_seconds,
                account_max_checks=settings.login_account_hourly_checks,
            ),
        ),
        rules=session_rules(settings),
        trusted_proxies=parse_trusted_proxies(settings.trusted_proxies),
        jwks=JsonWebKeySet.model_validate(
            {"keys": [public_jwk(key, kid) for kid, key in public_keys.items()]}
        ),
        devices=DeviceTokens(
            settings.device_token_secret.get_secret_value().encode(),
            ttl_seconds=settings.device_token_ttl_days * 24 * 3600,
        ),
        secure_cookies=settings.environment == "production",
        links=LinkRules(public_url=settings.public_url),
        mailer=SmtpMailer(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.mail_from,
                username=settings.smtp_username,
                password_file=settings.smtp_password_file,
                starttls=settings.smtp_starttls,
                timeout_seconds=settings.smtp_timeout_seconds,
            )
        ),
        mail_budget=HourlyBudget(
            runtime.redis,
            name="mail",
            per_account=settings.mail_requests_per_hour,
            per_address=settings.mail_requests_per_address_hour,
        ),
        reset_budget=HourlyBudget(
            runtime.redis,
            name="reset",
            per_account=settings.mail_requests_per_address_hour,
            per_address=settings.mail_requests_per_address_hour,
        ),
        require_verified_email=settings.require_verified_email,
        cursors=CursorCodec.from_secret(settings.cursor_secret),
        challenges=MfaChallenges(runtime.redis),
        oidc=OidcProviders(settings.oidc_providers, runtime.redis),
    )
    try:
        await _ensure_first_admin(settings, runtime, components)
        yield components
    finally:
        hasher.close()
        await components.oidc.close()


def session_rules(settings: Settings) -> SessionRules:
    return SessionRules(
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        reuse_grace=timedelta(seconds=settings.refresh_reuse_grace_seconds),
        revocation_horizon=timedelta(
            seconds=settings.access_token_ttl_seconds + settings.jwt_leeway_seconds
        ),
        security_log_retention=timedelta(days=settings.security_log_days),
    )


def revocations_from_database(settings: Settings, runtime: Runtime) -> Snapshot:
    """Auth is the source of truth: it reads its own database, not its own endpoint."""
    rules = session_rules(settings)

    async def snapshot() -> Mapping[str, float]:
        async with runtime.sessions() as session:
            return await SessionService(session=session, rules=rules).revoked_snapshot()

    return snapshot


async def _ensure_first_admin(settings: Settings, runtime: Runtime, components: Components) -> None:
    if settings.admin_password is None:
        return
    async with runtime.sessions() as session:
        accounts = AccountService(
            session=session,
            passwords=components.passwords,
            rules=components.rules,
            links=components.links,
        )
        created = await accounts.ensure_admin(
            email=settings.admin_email or "",
            username=settings.admin_username or "",
            password=settings.admin_password.get_secret_value(),
        )
    if created:
        logger.info("first admin account created", extra={"username": settings.admin_username})
