"""Accounts, logins, tokens and sessions: /api/v1/auth."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import TypeAdapter

from suite_client._async.base import AsyncBase
from suite_client.body import json_body, new_idempotency_key, segment
from suite_client.credentials import Credentials
from suite_client.models import (
    AccountRead,
    JsonWebKeySet,
    LoginTokens,
    Me,
    RecoveryCodes,
    SessionRead,
    TokenPair,
    TotpSetup,
)
from suite_client.operation import operation

_SESSIONS = TypeAdapter(list[SessionRead])


class AsyncAuth(AsyncBase):
    @operation("POST", "/api/v1/auth/register")
    async def auth_register(
        self, *, email: str, username: str, password: str, idempotency_key: str | None = None
    ) -> AccountRead:
        """Create an account; safe to retry (one Idempotency-Key for every attempt)."""
        response = await self._send(
            "POST",
            "/api/v1/auth/register",
            json=json_body(email=email, username=username, password=password),
            headers={"Idempotency-Key": idempotency_key or new_idempotency_key()},
            authenticated=False,
            retryable=True,
        )
        return AccountRead.model_validate_json(response.content)

    @operation("POST", "/api/v1/auth/login")
    async def auth_login(self, *, username: str, password: str) -> LoginTokens:
        """Log in (username or email); the client then acts for that account."""
        device = self.credentials.device_token
        response = await self._send(
            "POST",
            "/api/v1/auth/login",
            json=json_body(username=username, password=password)
            | ({"device_token": device} if device else {}),
            authenticated=False,
            retryable=False,
        )
        return self._logged_in(response.content)

    @operation("POST", "/api/v1/auth/login/mfa")
    async def auth_login_mfa(self, *, mfa_token: str, code: str) -> LoginTokens:
        """Complete a login that raised `mfa_required` (its `mfa_token` is in the problem's
        `extras`) with an authenticator or recovery code."""
        device = self.credentials.device_token
        response = await self._send(
            "POST",
            "/api/v1/auth/login/mfa",
            json=json_body(mfa_token=mfa_token, code=code),
            headers={"X-Device-Token": device} if device else None,
            authenticated=False,
            retryable=False,
        )
        return self._logged_in(response.content)

    def _logged_in(self, body: bytes) -> LoginTokens:
        tokens = LoginTokens.model_validate_json(body)
        self._set_credentials(
            Credentials(tokens.access_token, tokens.refresh_token, tokens.device_token)
        )
        return tokens

    @operation("GET", "/api/v1/auth/oidc/{provider}/start")
    async def auth_oidc_start(self, provider: str) -> str:
        """Where to send the user's browser to sign in with `provider` (its login page)."""
        response = await self._send(
            "GET", f"/api/v1/auth/oidc/{segment(provider)}/start", authenticated=False
        )
        return str(response.headers["location"])

    @operation("GET", "/api/v1/auth/oidc/{provider}/callback")
    async def auth_oidc_callback(
        self, provider: str, *, state: str, code: str | None = None, error: str | None = None
    ) -> LoginTokens:
        """Finish the sign-in with what the provider sent the browser back with."""
        response = await self._send(
            "GET",
            f"/api/v1/auth/oidc/{segment(provider)}/callback",
            params={"state": state, "code": code, "error": error},
            authenticated=False,
            retryable=False,
        )
        return self._logged_in(response.content)

    @operation("POST", "/api/v1/auth/mfa/totp/setup")
    async def auth_mfa_totp_setup(self) -> TotpSetup:
        """A new TOTP secret and its otpauth:// URI (not in force until enabled)."""
        response = await self._send("POST", "/api/v1/auth/mfa/totp/setup")
        return TotpSetup.model_validate_json(response.content)

    @operation("POST", "/api/v1/auth/mfa/totp/enable")
    async def auth_mfa_totp_enable(self, *, code: str) -> RecoveryCodes:
        """Turn TOTP on with a current code; returns the recovery codes (shown only now)."""
        response = await self._send(
            "POST", "/api/v1/auth/mfa/totp/enable", json=json_body(code=code)
        )
        return RecoveryCodes.model_validate_json(response.content)

    @operation("DELETE", "/api/v1/auth/mfa/totp")
    async def auth_mfa_totp_disable(self, *, password: str, code: str) -> None:
        """Turn TOTP off with the password and a current (or recovery) code."""
        await self._send(
            "DELETE", "/api/v1/auth/mfa/totp", json=json_body(password=password, code=code)
        )

    @operation("POST", "/api/v1/auth/refresh")
    async def auth_refresh(self) -> TokenPair:
        """Trade the refresh token for a new pair (the old refresh token stops working)."""
        return await self._refresh()

    @operation("POST", "/api/v1/auth/logout")
    async def auth_logout(self) -> None:
        """End this session everywhere in the suite; the client forgets its tokens."""
        await self._send("POST", "/api/v1/auth/logout")
        self._set_credentials(self.credentials.signed_out())

    @operation("POST", "/api/v1/auth/logout-all")
    async def auth_logout_all(self) -> None:
        """End every session of the account."""
        await self._send("POST", "/api/v1/auth/logout-all")
        self._set_credentials(self.credentials.signed_out())

    @operation("GET", "/api/v1/auth/me")
    async def auth_me(self) -> Me:
        response = await self._send("GET", "/api/v1/auth/me")
        return Me.model_validate_json(response.content)

    @operation("POST", "/api/v1/auth/password")
    async def auth_change_password(self, *, current_password: str, new_password: str) -> None:
        """Change the password; the account's other sessions end."""
        await self._send(
            "POST",
            "/api/v1/auth/password",
            json=json_body(current_password=current_password, new_password=new_password),
        )

    @operation("POST", "/api/v1/auth/verify/request")
    async def auth_verify_request(self) -> None:
        """Mail a new verification link to the account's address."""
        await self._send("POST", "/api/v1/auth/verify/request")

    @operation("POST", "/api/v1/auth/verify")
    async def auth_verify(self, *, token: str) -> None:
        """Verify the email with the code from the verification mail."""
        await self._send(
            "POST", "/api/v1/auth/verify", json=json_body(token=token), authenticated=False
        )

    @operation("POST", "/api/v1/auth/password/forgot")
    async def auth_password_forgot(self, *, email: str) -> None:
        """Ask for a reset link; the answer is the same whether or not the email has an account."""
        await self._send(
            "POST",
            "/api/v1/auth/password/forgot",
            json=json_body(email=email),
            authenticated=False,
            retryable=False,
        )

    @operation("POST", "/api/v1/auth/password/reset")
    async def auth_password_reset(self, *, token: str, new_password: str) -> None:
        """Set a new password with the code from the reset mail; every session ends."""
        await self._send(
            "POST",
            "/api/v1/auth/password/reset",
            json=json_body(token=token, new_password=new_password),
            authenticated=False,
        )

    @operation("GET", "/api/v1/auth/sessions")
    async def auth_sessions_list(self) -> list[SessionRead]:
        response = await self._send("GET", "/api/v1/auth/sessions")
        return _SESSIONS.validate_json(response.content)

    @operation("DELETE", "/api/v1/auth/sessions/{session_id}")
    async def auth_sessions_revoke(self, session_id: uuid.UUID | str) -> None:
        await self._send("DELETE", f"/api/v1/auth/sessions/{segment(session_id)}")

    @operation("GET", "/api/v1/auth/ping")
    async def auth_ping(self) -> dict[str, Any]:
        response = await self._send("GET", "/api/v1/auth/ping")
        return dict(response.json())

    @operation("GET", "/.well-known/jwks.json")
    async def auth_jwks(self) -> JsonWebKeySet:
        """The public keys that verify the suite's access tokens."""
        response = await self._send("GET", "/.well-known/jwks.json", authenticated=False)
        return JsonWebKeySet.model_validate_json(response.content)
