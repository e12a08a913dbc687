"""The Bearer dependency answers 401/403 as problem+json with an RFC 6750 challenge, never 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fastapi import Depends, FastAPI, Request
from fastapi.routing import iter_route_contexts
from fastapi.security.base import SecurityBase

from shared.logs import user_id_var
from shared.testing import asgi_client, assert_problem
from shared.tokens import Principal, TokenVerifier, jwk_thumbprint, public_jwk
from shared.web.auth import (
    CurrentPrincipal,
    current_principal,
    require_role,
)
from shared.web.documented import serve_without_documentation_only
from shared.web.problems import install_problem_handlers
from shared.web.state import attach_state

ISSUER = "https://auth.example"
AUDIENCE = "suite"


@dataclass(frozen=True)
class Now:
    """A time claim resolved when the token is minted."""

    offset: int = 0


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(
    key: RSAPrivateKey,
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
) -> str:
    """A token built by hand; header `alg` picks how it is signed, including the forged ways."""
    now = int(time.time())
    full_header = {"alg": "RS256", "typ": "at+jwt", "kid": jwk_thumbprint(key.public_key())}
    full_header.update(header or {})
    full_claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300}
    full_claims.update(claims or {})
    full_claims = {k: now + v.offset if isinstance(v, Now) else v for k, v in full_claims.items()}
    parts = (full_header, full_claims)
    signing_input = ".".join(b64url(json.dumps(part).encode()) for part in parts).encode()
    return f"{signing_input.decode()}.{b64url(_sign(signing_input, key, full_header['alg']))}"


def _sign(message: bytes, key: RSAPrivateKey, alg: str) -> bytes:
    if alg == "RS256":
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    if alg == "RS512":
        return key.sign(message, padding.PKCS1v15(), hashes.SHA512())
    if alg == "HS256":
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hmac.new(public_pem, message, hashlib.sha256).digest()
    return b""


@pytest.fixture(scope="module")
def signing_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def attacker_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def app(signing_key: RSAPrivateKey) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    public_key = signing_key.public_key()
    verifier = TokenVerifier(
        keys={jwk_thumbprint(public_key): public_key}, issuer=ISSUER, audience=AUDIENCE
    )
    attach_state(app).runtime = SimpleNamespace(verifier=verifier)  # type: ignore[assignment]

    @app.get("/me")
    async def read_me(principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
        return {
            "user_id": principal.user_id,
            "roles": sorted(principal.roles),
            "session_id": principal.session_id,
            "logged_user_id": user_id_var.get(),
            "state_user_id": request.state.principal.user_id,
        }

    @app.get("/admin")
    async def read_admin(
        principal: Annotated[Principal, Depends(require_role("admin"))],
    ) -> dict[str, str]:
        return {"user_id": principal.user_id}

    return app


async def call(app: FastAPI, path: str = "/me", authorization: str | None = None) -> httpx.Response:
    # Latin-1, as on the wire: lets a test send the raw bytes of a non-ASCII token.
    headers = {} if authorization is None else {b"Authorization": authorization.encode("latin-1")}
    async with asgi_client(app) as client:
        return await client.get(path, headers=headers)


async def test_valid_token_gives_the_principal(app: FastAPI, signing_key: RSAPrivateKey) -> None:
    token = mint(signing_key, claims={"roles": ["member"], "sid": "session-1"})

    response = await call(app, authorization=f"Bearer {token}")

    assert response.status_code == 200
    assert response.json() == {
        "user_id": "user-1",
        "roles": ["member"],
        "session_id": "session-1",
        "logged_user_id": "user-1",
        "state_user_id": "user-1",
    }


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
async def test_scheme_is_case_insensitive(
    app: FastAPI, signing_key: RSAPrivateKey, scheme: str
) -> None:
    response = await call(app, authorization=f"{scheme} {mint(signing_key)}")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc", "Bearerabc"],
)
async def test_missing_token_is_401_with_bare_challenge(
    app: FastAPI, authorization: str | None
) -> None:
    response = await call(app, authorization=authorization)

    assert_problem(response, 401, "missing_token")
    assert response.headers["www-authenticate"] == "Bearer"


FORGED = [
    pytest.param({"alg": "none"}, {}, id="alg-none"),
    pytest.param({"alg": "HS256"}, {}, id="hs256-with-public-pem"),
    pytest.param({"alg": "RS512"}, {}, id="rs512-right-key"),
    pytest.param({"kid": "nope"}, {}, id="unknown-kid"),
    pytest.param({"kid": "../../etc/passwd"}, {}, id="path-kid"),
    pytest.param({"kid": 1}, {}, id="numeric-kid"),
    pytest.param({"typ": "JWT"}, {}, id="wrong-typ"),
    pytest.param({}, {"exp": Now(-120)}, id="expired"),
    pytest.param({}, {"nbf": Now(120)}, id="not-yet-valid"),
    pytest.param({}, {"iss": "https://auth.example.evil"}, id="wrong-issuer"),
    pytest.param({}, {"aud": "other"}, id="wrong-audience"),
    pytest.param({}, {"sub": ""}, id="empty-sub"),
]


@pytest.mark.parametrize(("header", "claims"), FORGED)
async def test_forged_token_is_401_invalid_token(
    app: FastAPI, signing_key: RSAPrivateKey, header: dict[str, Any], claims: dict[str, Any]
) -> None:
    await assert_refused(app, mint(signing_key, header, claims))


@pytest.mark.parametrize("field", ["jwk", "jku", "x5u"])
async def test_attacker_key_in_header_is_401(
    app: FastAPI, signing_key: RSAPrivateKey, attacker_key: RSAPrivateKey, field: str
) -> None:
    references = {
        "jwk": public_jwk(attacker_key.public_key()),
        "jku": "https://evil.example/jwks.json",
        "x5u": "https://evil.example/cert.pem",
    }
    header = {"kid": jwk_thumbprint(signing_key.public_key()), field: references[field]}

    await assert_refused(app, mint(attacker_key, header))


async def test_tampered_payload_is_401(app: FastAPI, signing_key: RSAPrivateKey) -> None:
    head, body, signature = mint(signing_key).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "someone-else"

    await assert_refused(app, f"{head}.{b64url(json.dumps(claims).encode())}.{signature}")


@pytest.mark.parametrize(
    "token",
    ["a.b.c", "abc", "...", "h\xc3\xa9llo.w\xc3\xb6rld.x", "A" * 100_000, "x.y " * 30_000],
    ids=["dots", "word", "only-dots", "non-ascii", "100kb", "100kb-with-spaces"],
)
async def test_garbage_token_is_401(app: FastAPI, token: str) -> None:
    await assert_refused(app, token)


async def assert_refused(app: FastAPI, token: str) -> None:
    response = await call(app, authorization=f"Bearer {token}")

    body = assert_problem(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert body["detail"] in {"The access token is not valid.", "The access token has expired."}
    assert token not in response.text


async def test_logs_carry_the_reason_never_the_token(
    app: FastAPI, signing_key: RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = mint(signing_key, {"typ": "JWT"})

    await call(app, authorization=f"Bearer {token}")

    assert [getattr(r, "reason", None) for r in caplog.records if r.name == "shared.auth"] == [
        "wrong_type"
    ]
    signature = token.rsplit(".", 1)[1]
    assert all(signature not in str(vars(record)) for record in caplog.records)


async def test_require_role(app: FastAPI, signing_key: RSAPrivateKey) -> None:
    member = mint(signing_key, claims={"roles": ["member"]})
    admin = mint(signing_key, claims={"roles": ["admin"]})

    forbidden = await call(app, "/admin", authorization=f"Bearer {member}")
    allowed = await call(app, "/admin", authorization=f"Bearer {admin}")
    anonymous = await call(app, "/admin")

    assert "admin" in assert_problem(forbidden, 403, "forbidden")["detail"]
    assert allowed.status_code == 200
    assert allowed.json() == {"user_id": "user-1"}
    assert_problem(anonymous, 401, "missing_token")


def test_openapi_declares_the_bearer_scheme_and_the_password_login(app: FastAPI) -> None:
    schema = app.openapi()

    schemes = schema["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    password = schemes["OAuth2PasswordBearer"]["flows"]["password"]
    assert password["tokenUrl"] == "/api/v1/auth/login"
    # Either one will do: a pasted token, or the docs pages' Authorize dialog.
    assert schema["paths"]["/me"]["get"]["security"] == [
        {"HTTPBearer": []},
        {"OAuth2PasswordBearer": []},
    ]


async def test_the_schemes_stay_in_the_document_but_are_not_solved_per_request(
    signing_key: RSAPrivateKey,
) -> None:
    app = FastAPI()
    install_problem_handlers(app)
    public_key = signing_key.public_key()
    verifier = TokenVerifier(
        keys={jwk_thumbprint(public_key): public_key}, issuer=ISSUER, audience=AUDIENCE
    )
    # The verifier comes from the process state, as in a service: no dependency override.
    attach_state(app).runtime = SimpleNamespace(verifier=verifier)  # type: ignore[assignment]

    @app.get("/me")
    async def read_me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"user_id": principal.user_id}

    serve_without_documentation_only(app)

    assert app.openapi()["paths"]["/me"]["get"]["security"] == [
        {"HTTPBearer": []},
        {"OAuth2PasswordBearer": []},
    ]
    assert set(app.openapi()["components"]["securitySchemes"]) == {
        "HTTPBearer",
        "OAuth2PasswordBearer",
    }
    solved = []
    pending = [route.dependant for route in iter_route_contexts(app.routes) if route.path == "/me"]
    while pending:
        dependant = pending.pop()
        solved.append(dependant.call)
        pending.extend(dependant.dependencies)
    assert current_principal in solved
    assert not [call for call in solved if isinstance(call, SecurityBase)]
    assert (await call(app, authorization=f"Bearer {mint(signing_key)}")).json() == {
        "user_id": "user-1"
    }
    assert_problem(await call(app), 401, "missing_token")
