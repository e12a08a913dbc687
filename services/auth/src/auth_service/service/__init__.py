"""The rules of accounts, logins and sessions; one commit per use case, no web framework."""

from auth_service.service.accounts import AccountService, RoleService
from auth_service.service.admin import AdminService
from auth_service.service.audit import ClientInfo, SecurityEvents, SecurityLog
from auth_service.service.federation import FederatedSignIn
from auth_service.service.foreign_events import ForeignEventsService
from auth_service.service.hashing import Passwords
from auth_service.service.logins import IssuedTokens, LoginService
from auth_service.service.mailing import LinkRules, MailDelivery
from auth_service.service.mfa import TotpService
from auth_service.service.recovery import PasswordRecovery, mail_reset_link
from auth_service.service.revoking import SessionRules
from auth_service.service.sessions import SessionService
from auth_service.service.verification import EmailVerification

__all__ = [
    "AccountService",
    "AdminService",
    "ClientInfo",
    "EmailVerification",
    "FederatedSignIn",
    "ForeignEventsService",
    "IssuedTokens",
    "LinkRules",
    "LoginService",
    "MailDelivery",
    "PasswordRecovery",
    "Passwords",
    "RoleService",
    "SecurityEvents",
    "SecurityLog",
    "SessionRules",
    "SessionService",
    "TotpService",
    "mail_reset_link",
]
