"""Annotated dependencies of the auth service's routes."""

from typing import Annotated

from fastapi import Depends, Request

from auth_service.client_address import client_address
from auth_service.components import Components
from auth_service.models import IDEMPOTENCY
from auth_service.repository import AuthRepository
from auth_service.service import (
    AccountService,
    AdminService,
    ClientInfo,
    EmailVerification,
    FederatedSignIn,
    LoginService,
    PasswordRecovery,
    SecurityEvents,
    SessionService,
    TotpService,
)
from shared.tokens import Principal
from shared.web.auth import require_role
from shared.web.dependencies import SessionDep
from shared.web.idempotency import IdempotentRequest, idempotency_for
from shared.web.state import components_dependency

ComponentsDep = Annotated[Components, Depends(components_dependency(Components))]


async def get_account_service(session: SessionDep, components: ComponentsDep) -> AccountService:
    return AccountService(
        session=session,
        passwords=components.passwords,
        rules=components.rules,
        links=components.links,
    )


async def get_login_service(session: SessionDep, components: ComponentsDep) -> LoginService:
    return LoginService(
        session=session,
        passwords=components.passwords,
        throttle=components.throttle,
        issuer=components.issuer,
        rules=components.rules,
        devices=components.devices,
        challenges=components.challenges,
        require_verified_email=components.require_verified_email,
    )


async def get_verification(session: SessionDep, components: ComponentsDep) -> EmailVerification:
    return EmailVerification(
        session=session,
        links=components.links,
        budget=components.mail_budget,
        log_retention=components.rules.security_log_retention,
    )


async def get_recovery(session: SessionDep, components: ComponentsDep) -> PasswordRecovery:
    return PasswordRecovery(
        session=session,
        passwords=components.passwords,
        rules=components.rules,
        links=components.links,
        budget=components.mail_budget,
        reset_budget=components.reset_budget,
    )


async def get_totp_service(session: SessionDep, components: ComponentsDep) -> TotpService:
    return TotpService(
        session=session,
        passwords=components.passwords,
        rules=components.rules,
        throttle=components.throttle,
    )


async def get_federated_sign_in(
    session: SessionDep,
    components: ComponentsDep,
    logins: Annotated[LoginService, Depends(get_login_service)],
) -> FederatedSignIn:
    return FederatedSignIn(session=session, passwords=components.passwords, logins=logins)


async def get_admin_service(session: SessionDep, components: ComponentsDep) -> AdminService:
    return AdminService(session=session, rules=components.rules)


async def get_security_events(session: SessionDep, components: ComponentsDep) -> SecurityEvents:
    return SecurityEvents(repo=AuthRepository(session=session), cursors=components.cursors)


async def get_session_service(session: SessionDep, components: ComponentsDep) -> SessionService:
    return SessionService(session=session, rules=components.rules)


async def get_client(request: Request, components: ComponentsDep) -> ClientInfo:
    """The caller's address (X-Forwarded-For believed only from trusted proxies) and agent."""
    address = client_address(
        peer=request.client.host if request.client else None,
        forwarded_for=request.headers.get("x-forwarded-for"),
        trusted_proxies=components.trusted_proxies,
    )
    user_agent = (request.headers.get("user-agent") or "")[:256] or None
    return ClientInfo(address=address, user_agent=user_agent)


AccountServiceDep = Annotated[AccountService, Depends(get_account_service)]
LoginServiceDep = Annotated[LoginService, Depends(get_login_service)]
SessionServiceDep = Annotated[SessionService, Depends(get_session_service)]
VerificationDep = Annotated[EmailVerification, Depends(get_verification)]
TotpServiceDep = Annotated[TotpService, Depends(get_totp_service)]
FederatedSignInDep = Annotated[FederatedSignIn, Depends(get_federated_sign_in)]
AdminServiceDep = Annotated[AdminService, Depends(get_admin_service)]
SecurityEventsDep = Annotated[SecurityEvents, Depends(get_security_events)]
AdminPrincipal = Annotated[Principal, Depends(require_role("admin"))]
RecoveryDep = Annotated[PasswordRecovery, Depends(get_recovery)]
ClientDep = Annotated[ClientInfo, Depends(get_client)]
Idempotent = Annotated[IdempotentRequest, Depends(idempotency_for(IDEMPOTENCY))]
