"""Access-token verification: RS256 JWTs (RFC 9068) signed by auth, checked with its public keys.

Framework-free: services verify here and get a `Principal`; only auth holds a private key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers
from cryptography.hazmat.primitives.serialization import load_pem_public_key

ALGORITHM = "RS256"
MIN_KEY_BITS = 2048
MAX_LEEWAY_SECONDS = 30
# Clients reuse one access token for its whole life: remembering recent verified ones saves the
# signature check and PyJWT's parsing (together ~150 us) on nearly every request.
VERIFIED_CACHE_SIZE = 4096

Reason = Literal[
    "malformed",
    "too_large",
    "unsupported_alg",
    "unknown_kid",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "bad_issuer",
    "bad_audience",
    "missing_claim",
    "wrong_type",
    "revoked",
]
REASONS: frozenset[str] = frozenset(get_args(Reason))

logger = logging.getLogger("shared.tokens")

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)
_PEM_LABELS = frozenset({"PUBLIC KEY", "RSA PUBLIC KEY"})
_JWK_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})

# Most specific first: InvalidSignatureError is a DecodeError, and every one is a PyJWTError.
_REASONS_BY_ERROR: tuple[tuple[type[jwt.PyJWTError], Reason], ...] = (
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidIssuerError, "bad_issuer"),
    (jwt.InvalidAudienceError, "bad_audience"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidAlgorithmError, "unsupported_alg"),
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified access token speaks for; `expires_at` is its `exp` (Unix seconds)."""

    user_id: str
    roles: frozenset[str]
    session_id: str | None
    token_id: str | None
    expires_at: int

    def has_role(self, role: str) -> bool:
        """True when the token granted `role` (exact, case-sensitive match)."""
        return role in self.roles


class InvalidToken(Exception):
    """A token was refused; `reason` is a stable slug from `REASONS`, fit for a metrics label."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


def jwk_thumbprint(public_key: RSAPublicKey) -> str:
    """The RFC 7638 SHA-256 thumbprint (base64url): the kid auth and verifiers agree on."""
    numbers = public_key.public_numbers()
    # RFC 7638 §3: required members only, sorted, no whitespace.
    canonical = json.dumps(
        {"e": _b64_uint(numbers.e), "kty": "RSA", "n": _b64_uint(numbers.n)},
        separators=(",", ":"),
        sort_keys=True,
    )
    return _b64(hashlib.sha256(canonical.encode()).digest())


def public_jwk(public_key: RSAPublicKey, kid: str | None = None) -> dict[str, str]:
    """The key as a JWKS entry for RS256 signatures; kid defaults to its thumbprint."""
    numbers = public_key.public_numbers()
    return {
        "kty": "RSA",
        "kid": kid if kid is not None else jwk_thumbprint(public_key),
        "use": "sig",
        "alg": ALGORITHM,
        "n": _b64_uint(numbers.n),
        "e": _b64_uint(numbers.e),
    }


def load_public_keys(source: str) -> dict[str, RSAPublicKey]:
    """Keys by kid from a path or inline PEM/JWKS text; refuses private keys and small keys."""
    text = source.strip()
    if not text.startswith(("-----BEGIN", "{")):
        text = Path(text).read_text(encoding="utf-8").strip()
    keys = _keys_from_jwks(text) if text.startswith("{") else _keys_from_pem(text)
    if not keys:
        raise ValueError("the key source holds no RSA signing key")
    return keys


def _keys_from_pem(text: str) -> dict[str, RSAPublicKey]:
    keys: dict[str, RSAPublicKey] = {}
    for block in _PEM_BLOCK.finditer(text):
        if block.group(1) not in _PEM_LABELS:
            raise ValueError(f"unsupported PEM block {block.group(1)!r}; expected a public key")
        key = _checked(load_pem_public_key(block.group(0).encode()))
        keys[jwk_thumbprint(key)] = key
    return keys


def _keys_from_jwks(text: str) -> dict[str, RSAPublicKey]:
    document = json.loads(text)
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("a JWKS is a JSON object with a `keys` list")
    keys: dict[str, RSAPublicKey] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA":
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        if _JWK_PRIVATE_MEMBERS & entry.keys():
            raise ValueError("the JWKS holds private key material; verifiers take public keys only")
        key = _checked(RSAPublicNumbers(_uint(entry.get("e")), _uint(entry.get("n"))).public_key())
        kid = entry.get("kid", jwk_thumbprint(key))
        if not isinstance(kid, str) or not kid:
            raise ValueError("a JWK `kid` must be a non-empty string")
        if kid in keys and keys[kid] != key:
            raise ValueError(f"two different keys share kid {kid!r}")
        keys[kid] = key
    return keys


def _checked(key: object) -> RSAPublicKey:
    if not isinstance(key, RSAPublicKey):
        raise ValueError("only RSA public keys are accepted")
    if key.key_size < MIN_KEY_BITS:
        raise ValueError(f"RSA key of {key.key_size} bits; at least {MIN_KEY_BITS} required")
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_uint(value: int) -> str:
    return _b64(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def _uint(value: object) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError("a JWK `n` and `e` must be base64url strings")
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


class TokenVerifier:
    """Verifies RS256 access tokens against a fixed key set; build once at startup, share freely."""

    def __init__(
        self,
        *,
        keys: Mapping[str, RSAPublicKey],
        issuer: str,
        audience: str,
        leeway_seconds: int = 10,
        max_token_bytes: int = 8192,
        token_type: str = "at+jwt",  # noqa: S107 - a media type (RFC 9068), not a secret
        is_revoked: Callable[[Principal], bool] | None = None,
    ) -> None:
        if not keys:
            raise ValueError("a TokenVerifier needs at least one public key")
        if not issuer or not audience:
            raise ValueError("issuer and audience must be non-empty")
        if not 0 <= leeway_seconds <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"leeway_seconds must be within 0..{MAX_LEEWAY_SECONDS}")
        if max_token_bytes <= 0:
            raise ValueError("max_token_bytes must be positive")
        self._keys = {kid: _checked(key) for kid, key in keys.items()}
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._max_bytes = max_token_bytes
        self._token_type = _media_type(token_type)
        self._is_revoked = is_revoked
        self._verified: OrderedDict[str, Principal] = OrderedDict()
        self._header_reader = jwt.PyJWS(algorithms=[ALGORITHM])
        # PyJWT requires no claim by default and skips the checks of absent ones: name them all.
        self._decoder = jwt.PyJWT(
            options={
                "verify_signature": True,
                "require": ["iss", "aud", "sub", "exp", "iat"],
                "enforce_minimum_key_length": True,
                "strict_aud": False,
            }
        )

    def verify(self, token: str) -> Principal:
        """The token's Principal, or InvalidToken; no other exception ever leaves."""
        try:
            return self._verify(token)
        except InvalidToken:
            raise
        except jwt.PyJWTError as exc:
            raise InvalidToken(_reason_for(exc)) from exc
        except Exception as exc:
            # A bug or a failing revocation store refuses the token: never a 500, never a pass.
            logger.warning("token verification failed unexpectedly", exc_info=True)
            raise InvalidToken("malformed") from exc

    def _verify(self, token: str) -> Principal:
        # Size first: nothing is decoded from an oversized token.
        if not isinstance(token, str):
            raise InvalidToken("malformed")
        if len(token) > self._max_bytes:
            raise InvalidToken("too_large")
        if not token.isascii():
            raise InvalidToken("malformed")
        principal = self._verified.get(token)
        if principal is None:
            principal = self._verify_signed(token)
            self._verified[token] = principal
            if len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        elif time.time() > principal.expires_at + self._leeway:
            del self._verified[token]
            raise InvalidToken("expired")
        else:
            self._verified.move_to_end(token)
        if self._is_revoked is not None and self._is_revoked(principal):
            raise InvalidToken("revoked")
        return principal

    def _verify_signed(self, token: str) -> Principal:
        """Full verification: header rules, signature, and every claim."""
        header = self._header_reader.get_unverified_header(token)
        # The token never chooses the algorithm or the key: jku, x5u, jwk and x5c are never read.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("unsupported_alg")
        typ = header.get("typ")
        if not isinstance(typ, str) or _media_type(typ) != self._token_type:
            raise InvalidToken("wrong_type")
        kid = header.get("kid")
        if kid is None:
            raise InvalidToken("unknown_kid")
        if not isinstance(kid, str):
            raise InvalidToken("malformed")
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("unknown_kid")
        claims = self._decoder.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=self._audience,
            issuer=self._issuer,
            leeway=self._leeway,
        )
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        # PyJWT compares a str issuer exactly since 2.10.1; repeated so no version can loosen it.
        if claims["iss"] != self._issuer:
            raise InvalidToken("bad_issuer")
        # PyJWT coerces times with int(), which takes "123" and True: only JSON numbers pass here.
        for name in ("exp", "iat", "nbf"):
            if name in claims and not _is_number(claims[name]):
                raise InvalidToken("malformed")
        sub = claims["sub"]
        if not isinstance(sub, str):
            raise InvalidToken("malformed")
        if not sub:
            raise InvalidToken("missing_claim")
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise InvalidToken("malformed")
        return Principal(
            user_id=sub,
            roles=frozenset(roles),
            session_id=_optional_str(claims, "sid"),
            token_id=_optional_str(claims, "jti"),
            expires_at=int(claims["exp"]),
        )


def _reason_for(exc: jwt.PyJWTError) -> Reason:
    for error_type, reason in _REASONS_BY_ERROR:
        if isinstance(exc, error_type):
            return reason
    return "malformed"


def _media_type(value: str) -> str:
    # RFC 7515 §4.1.9: "at+jwt" and "application/at+jwt" name the same case-insensitive type.
    return value.lower().removeprefix("application/")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _optional_str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidToken("malformed")
    return value
