"""TokenVerifier refuses forged, stale, misdirected and malformed tokens; key sets load safely."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicNumbers

from shared.tokens import (
    REASONS,
    InvalidToken,
    Principal,
    TokenVerifier,
    jwk_thumbprint,
    load_public_keys,
    public_jwk,
)

ISSUER = "https://auth.example"
AUDIENCE = "suite"
DROP = object()  # an override value that removes the header field or claim


@dataclass(frozen=True)
class Now:
    """A time claim resolved when the token is minted, so slow runs cannot shift it."""

    offset: int = 0


@dataclass(frozen=True)
class Keyring:
    signing: RSAPrivateKey
    rotated: RSAPrivateKey
    attacker: RSAPrivateKey

    @property
    def kid(self) -> str:
        return jwk_thumbprint(self.signing.public_key())

    @property
    def rotated_kid(self) -> str:
        return jwk_thumbprint(self.rotated.public_key())

    def verifier(self, **overrides: Any) -> TokenVerifier:
        keys = {
            self.kid: self.signing.public_key(),
            self.rotated_kid: self.rotated.public_key(),
        }
        return TokenVerifier(keys=keys, issuer=ISSUER, audience=AUDIENCE, **overrides)

    def mint(
        self,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        *,
        key: RSAPrivateKey | None = None,
        alg: str = "RS256",
    ) -> str:
        """A token built by hand, so any header or claim can be anything at all."""
        now = int(time.time())
        full_header = {"alg": alg, "typ": "at+jwt", "kid": self.kid, **(header or {})}
        full_claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-1",
            "iat": now,
            "exp": now + 300,
            "roles": ["admin", "member"],
            "sid": "session-1",
            "jti": "token-1",
            **(claims or {}),
        }
        full_claims = {
            name: now + value.offset if isinstance(value, Now) else value
            for name, value in full_claims.items()
            if value is not DROP
        }
        signing_input = f"{_segment(_without_drops(full_header))}.{_segment(full_claims)}"
        signature = _sign(signing_input.encode(), key or self.signing, alg)
        return f"{signing_input}.{b64url(signature)}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value).encode())


def _without_drops(value: dict[str, Any]) -> dict[str, Any]:
    return {name: item for name, item in value.items() if item is not DROP}


def _sign(message: bytes, key: RSAPrivateKey, alg: str) -> bytes:
    if alg == "RS256":
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    if alg == "RS512":
        return key.sign(message, padding.PKCS1v15(), hashes.SHA512())
    if alg == "PS256":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return key.sign(message, pss, hashes.SHA256())
    if alg == "HS256":
        # The classic confusion attack: the public key PEM used as an HMAC secret.
        secret = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hmac.new(secret, message, hashlib.sha256).digest()
    return b""  # "none" and its spellings: unsigned


def pem(key: RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def refused(verifier: TokenVerifier, token: Any) -> str:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason in REASONS
    return caught.value.reason


@pytest.fixture(scope="module")
def ring() -> Keyring:
    def generate() -> RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keyring(signing=generate(), rotated=generate(), attacker=generate())


def test_valid_token_gives_the_principal(ring: Keyring) -> None:
    principal = ring.verifier().verify(ring.mint(claims={"exp": 2_000_000_000}))

    assert principal == Principal(
        user_id="user-1",
        roles=frozenset({"admin", "member"}),
        session_id="session-1",
        token_id="token-1",
        expires_at=2_000_000_000,
    )
    assert principal.has_role("admin")
    assert not principal.has_role("Admin")


def test_pyjwt_minted_access_token_verifies(ring: Keyring) -> None:
    # What auth will do: jwt.encode with the kid and the RFC 9068 typ.
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-2", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, ring.signing, "RS256", headers={"kid": ring.kid, "typ": "at+jwt"})

    principal = ring.verifier().verify(token)

    assert (principal.user_id, principal.roles, principal.session_id) == (
        "user-2",
        frozenset(),
        None,
    )


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": DROP, "sid": DROP, "jti": DROP},
        {"aud": ["other", AUDIENCE]},
        {"exp": Now(-5)},  # expired, but within the 10 s leeway
        {"nbf": Now(-5)},
    ],
    ids=["minimal", "aud-list", "exp-within-leeway", "nbf-past"],
)
def test_accepts(ring: Keyring, claims: dict[str, Any]) -> None:
    assert ring.verifier().verify(ring.mint(claims=claims)).user_id == "user-1"


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
def test_accepts_the_access_token_media_type_spellings(ring: Keyring, typ: str) -> None:
    assert ring.verifier().verify(ring.mint({"typ": typ})).user_id == "user-1"


def test_accepts_both_keys_during_rotation(ring: Keyring) -> None:
    verifier = ring.verifier()
    rotated = ring.mint({"kid": ring.rotated_kid}, key=ring.rotated)

    assert verifier.verify(ring.mint()).user_id == verifier.verify(rotated).user_id == "user-1"


@pytest.mark.parametrize(
    ("alg", "reason"),
    [
        ("none", "unsupported_alg"),
        ("None", "unsupported_alg"),
        ("HS256", "unsupported_alg"),
        ("RS512", "unsupported_alg"),
        ("PS256", "unsupported_alg"),
    ],
)
def test_refuses_any_algorithm_but_rs256(ring: Keyring, alg: str, reason: str) -> None:
    assert refused(ring.verifier(), ring.mint(alg=alg)) == reason


def test_refuses_rs256_token_with_empty_signature(ring: Keyring) -> None:
    head, body, _ = ring.mint().split(".")

    assert refused(ring.verifier(), f"{head}.{body}.") == "bad_signature"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"kid": "not-a-known-kid"}, "unknown_kid"),
        ({"kid": DROP}, "unknown_kid"),
        ({"kid": ""}, "unknown_kid"),
        ({"kid": "../../etc/passwd"}, "unknown_kid"),
        ({"kid": "/dev/zero"}, "unknown_kid"),
        ({"kid": 7}, "malformed"),
        ({"kid": {"kid": "x"}}, "malformed"),
        ({"kid": None}, "malformed"),
        ({"typ": "JWT"}, "wrong_type"),
        ({"typ": "refresh+jwt"}, "wrong_type"),
        ({"typ": "application/jwt"}, "wrong_type"),
        ({"typ": DROP}, "wrong_type"),
        ({"typ": 1}, "wrong_type"),
        ({"crit": ["exp"]}, "malformed"),
    ],
)
def test_refuses_header(ring: Keyring, header: dict[str, Any], reason: str) -> None:
    assert refused(ring.verifier(), ring.mint(header)) == reason


@pytest.mark.parametrize("field", ["jwk", "jku", "x5u", "x5c"])
def test_ignores_attacker_key_references_in_header(ring: Keyring, field: str) -> None:
    attacker_jwk = public_jwk(ring.attacker.public_key())
    values = {
        "jwk": attacker_jwk,
        "jku": "https://evil.example/jwks.json",
        "x5u": "https://evil.example/cert.pem",
        "x5c": [b64url(b"not a certificate")],
    }
    verifier = ring.verifier()

    # With our kid the signature fails; with the attacker's kid there is no such key.
    assert (
        refused(verifier, ring.mint({field: values[field]}, key=ring.attacker)) == "bad_signature"
    )
    attacker_kid = {field: values[field], "kid": attacker_jwk["kid"]}
    assert refused(verifier, ring.mint(attacker_kid, key=ring.attacker)) == "unknown_kid"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": Now(-60)}, "expired"),
        ({"nbf": Now(120)}, "not_yet_valid"),
        ({"iat": Now(120)}, "not_yet_valid"),
        ({"iat": DROP}, "missing_claim"),
        ({"exp": DROP}, "missing_claim"),
        ({"sub": DROP}, "missing_claim"),
        ({"sub": ""}, "missing_claim"),
        ({"iss": DROP}, "missing_claim"),
        ({"aud": DROP}, "missing_claim"),
        ({"iss": "https://other.example"}, "bad_issuer"),
        ({"iss": "https://auth.example.evil"}, "bad_issuer"),
        ({"iss": "https://auth.exampl"}, "bad_issuer"),
        ({"iss": "https://auth.example/"}, "bad_issuer"),
        ({"iss": ["https://auth.example"]}, "bad_issuer"),
        ({"aud": "other"}, "bad_audience"),
        ({"aud": ["other", "another"]}, "bad_audience"),
        ({"aud": "suite-admin"}, "bad_audience"),
        ({"sub": 42}, "malformed"),
        ({"exp": "4000000000"}, "malformed"),
        ({"iat": True}, "malformed"),  # PyJWT reads it as int(True) == 1
        ({"iat": "now"}, "malformed"),
        ({"roles": "admin"}, "malformed"),
        ({"roles": ["admin", 1]}, "malformed"),
        ({"roles": {"admin": True}}, "malformed"),
        ({"sid": 5}, "malformed"),
        ({"jti": ["x"]}, "malformed"),
    ],
)
def test_refuses_claims(ring: Keyring, claims: dict[str, Any], reason: str) -> None:
    assert refused(ring.verifier(), ring.mint(claims=claims)) == reason


def test_refuses_tampered_payload(ring: Keyring) -> None:
    head, body, signature = ring.mint().split(".")
    forged_claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged_claims["sub"] = "admin-user"
    forged = f"{head}.{_segment(forged_claims)}.{signature}"

    assert refused(ring.verifier(), forged) == "bad_signature"


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "..", "...", "héllo.wörld.ß", "eyJ.eyJ.", None, b"x"],
)
def test_refuses_garbage(ring: Keyring, token: Any) -> None:
    assert refused(ring.verifier(), token) == "malformed"


def test_refuses_oversized_token_before_parsing(ring: Keyring) -> None:
    huge_header = ring.mint({"pad": "A" * 100_000})

    assert refused(ring.verifier(), huge_header) == "too_large"
    assert refused(ring.verifier(), "!" * 100_000) == "too_large"
    assert refused(ring.verifier(max_token_bytes=64), ring.mint()) == "too_large"


def test_revocation_hook_sees_the_principal(ring: Keyring) -> None:
    seen: list[Principal] = []

    def is_revoked(principal: Principal) -> bool:
        seen.append(principal)
        return principal.session_id == "session-gone"

    verifier = ring.verifier(is_revoked=is_revoked)

    assert verifier.verify(ring.mint()).session_id == "session-1"
    assert refused(verifier, ring.mint(claims={"sid": "session-gone"})) == "revoked"
    assert [p.session_id for p in seen] == ["session-1", "session-gone"]


def test_failing_revocation_hook_refuses_the_token(ring: Keyring) -> None:
    def is_revoked(_: Principal) -> bool:
        raise ConnectionError("revocation store down")

    assert refused(ring.verifier(is_revoked=is_revoked), ring.mint()) == "malformed"


@pytest.mark.parametrize("leeway", [-1, 31, 3600])
def test_refuses_leeway_out_of_range(ring: Keyring, leeway: int) -> None:
    with pytest.raises(ValueError, match="leeway"):
        ring.verifier(leeway_seconds=leeway)


def test_refuses_small_key_in_verifier() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - must be refused

    with pytest.raises(ValueError, match="2048"):
        TokenVerifier(keys={"k": small.public_key()}, issuer=ISSUER, audience=AUDIENCE)


# --- key loading -------------------------------------------------------------------------


def test_thumbprint_matches_rfc_7638_example() -> None:
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
        "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvz"
        "qY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6We"
        "Zu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    key = RSAPublicNumbers(65537, int.from_bytes(base64.urlsafe_b64decode(n + "=="))).public_key()

    assert jwk_thumbprint(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert public_jwk(key, "2011-04-29") == {
        "kty": "RSA",
        "kid": "2011-04-29",
        "use": "sig",
        "alg": "RS256",
        "n": n,
        "e": "AQAB",
    }


def test_loads_pem_file_with_thumbprint_kid(ring: Keyring, tmp_path: Path) -> None:
    path = tmp_path / "public.pem"
    path.write_text(pem(ring.signing))

    keys = load_public_keys(str(path))

    assert list(keys) == [ring.kid]
    verifier = TokenVerifier(keys=keys, issuer=ISSUER, audience=AUDIENCE)
    assert verifier.verify(ring.mint()).user_id == "user-1"


def test_loads_concatenated_pems(ring: Keyring) -> None:
    keys = load_public_keys(pem(ring.signing) + "\n" + pem(ring.rotated))

    assert set(keys) == {ring.kid, ring.rotated_kid}


def test_loads_pkcs1_pem(ring: Keyring) -> None:
    pkcs1 = ring.signing.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )

    assert list(load_public_keys(pkcs1.decode())) == [ring.kid]


def _jwks(ring: Keyring) -> str:
    skipped: list[dict[str, Any]] = [
        {**public_jwk(ring.attacker.public_key(), "enc-key"), "use": "enc"},
        {**public_jwk(ring.attacker.public_key(), "ps-key"), "alg": "PS256"},
        {"kty": "EC", "kid": "ec-key", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "oct", "kid": "hmac-key", "k": "c2VjcmV0"},
    ]
    keys = [public_jwk(ring.signing.public_key(), "current"), public_jwk(ring.rotated.public_key())]
    return json.dumps({"keys": keys + skipped})


def test_loads_jwks_string_keeping_only_rs256_signing_keys(ring: Keyring) -> None:
    keys = load_public_keys(_jwks(ring))

    assert set(keys) == {"current", ring.rotated_kid}
    verifier = TokenVerifier(keys=keys, issuer=ISSUER, audience=AUDIENCE)
    assert verifier.verify(ring.mint({"kid": "current"})).user_id == "user-1"


def test_loads_jwks_file(ring: Keyring, tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(_jwks(ring))

    assert set(load_public_keys(str(path))) == {"current", ring.rotated_kid}


def test_refuses_small_key_at_load() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - must be refused

    with pytest.raises(ValueError, match="1024 bits"):
        load_public_keys(pem(small))
    with pytest.raises(ValueError, match="1024 bits"):
        load_public_keys(json.dumps({"keys": [public_jwk(small.public_key())]}))


@pytest.mark.parametrize(
    "source",
    [
        '{"keys": []}',
        '{"keys": "nope"}',
        '{"keys": [{"kty": "RSA", "kid": "k", "n": 5, "e": "AQAB"}]}',
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
    ],
)
def test_refuses_unusable_key_source(source: str) -> None:
    with pytest.raises(ValueError):
        load_public_keys(source)


def test_refuses_private_key_material(ring: Keyring) -> None:
    private_pem = ring.signing.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    private_jwk = {**public_jwk(ring.signing.public_key()), "d": "AQAB"}

    with pytest.raises(ValueError, match="PRIVATE KEY"):
        load_public_keys(private_pem)
    with pytest.raises(ValueError, match="private"):
        load_public_keys(json.dumps({"keys": [private_jwk]}))


def test_remembered_token_is_still_refused_once_expired(
    ring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = ring.verifier(leeway_seconds=5)
    token = ring.mint(claims={"exp": int(time.time()) + 60})
    assert verifier.verify(token).user_id == "user-1"
    assert verifier.verify(token).user_id == "user-1"  # served from the verified cache
    later = time.time() + 66
    monkeypatch.setattr("shared.tokens.time.time", lambda: later)
    assert refused(verifier, token) == "expired"


def test_remembered_token_is_refused_once_revoked(ring: Keyring) -> None:
    revoked: set[str | None] = set()
    verifier = ring.verifier(is_revoked=lambda principal: principal.session_id in revoked)
    token = ring.mint()
    assert verifier.verify(token).session_id == "session-1"
    revoked.add("session-1")
    assert refused(verifier, token) == "revoked"


def test_verified_cache_is_bounded(ring: Keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.tokens.VERIFIED_CACHE_SIZE", 3)
    verifier = ring.verifier()
    for n in range(10):
        verifier.verify(ring.mint(claims={"jti": f"t{n}"}))
    assert len(verifier._verified) == 3
