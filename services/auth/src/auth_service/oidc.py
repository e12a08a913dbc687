"""Signing in with an OpenID Connect provider: the authorization code flow with PKCE (S256,
Authlib's), state and nonce, and the ID token checked against the provider's keys (PyJWT).

The provider's metadata and keys are fetched on first use and kept; the pending logins (state,
nonce, code verifier) wait in Redis for ten minutes and are good once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError

from auth_service.throttle import ThrottleUnavailable

PENDING_SECONDS = 600
LEEWAY_SECONDS = 30


class OidcProviderSettings(BaseModel):
    """One entry of AUTH_OIDC_PROVIDERS (a JSON object: name -> these fields)."""

    issuer: str
    client_id: str
    client_secret_file: Path
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email"])


class OidcError(Exception):
    """The provider refused, or what it sent does not check out; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Pending:
    provider: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in (from a verified ID token)."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool


class OidcProvider:
    def __init__(self, name: str, settings: OidcProviderSettings, http: httpx.AsyncClient) -> None:
        self.name = name
        self._settings = settings
        self._http = http
        self._metadata: dict[str, Any] | None = None
        self._keys: jwt.PyJWKSet | None = None

    async def _discovered(self) -> dict[str, Any]:
        if self._metadata is None:
            url = f"{self._settings.issuer.rstrip('/')}/.well-known/openid-configuration"
            response = await self._http.get(url)
            response.raise_for_status()
            metadata = response.json()
            if metadata.get("issuer") != self._settings.issuer:
                raise OidcError("issuer_mismatch")
            self._metadata = metadata
        return self._metadata

    async def authorization_url(self, *, redirect_uri: str, state: str, pending: Pending) -> str:
        metadata = await self._discovered()
        return str(
            add_params_to_uri(
                metadata["authorization_endpoint"],
                {
                    "response_type": "code",
                    "client_id": self._settings.client_id,
                    "redirect_uri": redirect_uri,
                    "scope": " ".join(self._settings.scopes),
                    "state": state,
                    "nonce": pending.nonce,
                    "code_challenge": create_s256_code_challenge(pending.code_verifier),
                    "code_challenge_method": "S256",
                },
            )
        )

    async def identity(self, *, code: str, redirect_uri: str, pending: Pending) -> Identity:
        """Trade the code for tokens and return the ID token's subject, once it checks out."""
        metadata = await self._discovered()
        secret = self._settings.client_secret_file.read_text().strip()
        response = await self._http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pending.code_verifier,
            },
            auth=(self._settings.client_id, secret),  # client_secret_basic
        )
        if response.status_code != 200:
            raise OidcError("code_exchange_failed")
        try:
            token = response.json()
        except ValueError:
            raise OidcError("code_exchange_failed") from None
        if not isinstance(token, dict):
            raise OidcError("code_exchange_failed")
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("no_id_token")
        claims = dict(await self._verified(id_token, metadata, nonce=pending.nonce))
        if "email" not in claims and metadata.get("userinfo_endpoint"):
            # Providers may keep scope claims out of the ID token (OIDC Core 5.4): ask userinfo.
            claims |= await self._userinfo(metadata, token.get("access_token"), claims["sub"])
        return Identity(
            provider=self.name,
            subject=str(claims["sub"]),
            email=claims.get("email"),
            email_verified=claims.get("email_verified") is True,
        )

    async def _userinfo(
        self, metadata: dict[str, Any], access_token: object, subject: object
    ) -> dict[str, Any]:
        if not isinstance(access_token, str):
            return {}
        response = await self._http.get(
            metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}
        )
        response.raise_for_status()
        info = response.json()
        if not isinstance(info, dict) or info.get("sub") != subject:
            raise OidcError("userinfo_subject_mismatch")  # OIDC Core 5.3.2: must be refused
        return {k: info[k] for k in ("email", "email_verified") if k in info}

    async def _verified(self, id_token: str, metadata: dict[str, Any], *, nonce: str) -> Any:
        try:
            header = jwt.get_unverified_header(id_token)
            key = await self._signing_key(metadata, header.get("kid"))
            claims = jwt.decode(
                id_token,
                key=key.key,
                # The key's own algorithm only: a provider's list must not admit HS256 and such.
                algorithms=[key.algorithm_name],
                audience=self._settings.client_id,
                issuer=self._settings.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub", "nonce"]},
            )
        except jwt.PyJWTError as exc:
            raise OidcError("invalid_id_token") from exc
        if not secrets.compare_digest(str(claims["nonce"]), nonce):
            raise OidcError("nonce_mismatch")
        return claims

    async def _signing_key(self, metadata: dict[str, Any], kid: str | None) -> jwt.PyJWK:
        for refresh in (False, True):  # a key we have not seen may be a rotation: refetch once
            if self._keys is None or refresh:
                response = await self._http.get(metadata["jwks_uri"])
                response.raise_for_status()
                self._keys = jwt.PyJWKSet.from_dict(response.json())
            for key in self._keys.keys:
                if kid is None or key.key_id == kid:
                    return key
        raise OidcError("unknown_signing_key")


class OidcProviders:
    """The configured providers, and the logins pending at them."""

    def __init__(self, settings: dict[str, OidcProviderSettings], redis: Redis) -> None:
        self._http = httpx.AsyncClient(timeout=10)
        self._providers = {name: OidcProvider(name, s, self._http) for name, s in settings.items()}
        self._redis = redis

    def get(self, name: str) -> OidcProvider | None:
        return self._providers.get(name)

    async def start(self, provider: OidcProvider, *, redirect_uri: str) -> tuple[str, str]:
        """Where to send the browser (the provider's login, bound to a fresh state and nonce),
        and the state, which the browser must also bring back in a cookie."""
        state = secrets.token_urlsafe(32)
        pending = Pending(provider.name, secrets.token_urlsafe(32), secrets.token_urlsafe(48))
        try:
            await self._redis.set(_key(state), json.dumps(pending.__dict__), ex=PENDING_SECONDS)
        except RedisError as exc:
            raise ThrottleUnavailable(str(exc)) from exc
        url = await provider.authorization_url(
            redirect_uri=redirect_uri, state=state, pending=pending
        )
        return url, state

    async def pending(self, state: str) -> Pending | None:
        """The login this state began, once: a replayed or forged state finds nothing."""
        try:
            found = await self._redis.getdel(_key(state))
        except RedisError as exc:
            raise ThrottleUnavailable(str(exc)) from exc
        return Pending(**json.loads(found)) if found else None

    async def close(self) -> None:
        await self._http.aclose()


def _key(state: str) -> str:
    return f"oidc:{hashlib.sha256(state.encode()).hexdigest()}"
