"""The rules of accounts, logins and sessions; one commit per use case, no web framework."""

from auth_service.service.accounts import AccountService, RoleService
from auth_service.service.foreign_events import ForeignEventsService
from auth_service.service.hashing import Passwords
from auth_service.service.logins import ClientInfo, IssuedTokens, LoginService
from auth_service.service.revoking import SessionRules
from auth_service.service.sessions import SessionService

__all__ = [
    "AccountService",
    "ClientInfo",
    "ForeignEventsService",
    "IssuedTokens",
    "LoginService",
    "Passwords",
    "RoleService",
    "SessionRules",
    "SessionService",
]
