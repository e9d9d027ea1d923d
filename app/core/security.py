"""Password/secret hashing and access tokens.

Every JWT passes through here: the algorithm is pinned (HS256), and exp, iat, iss, aud and sub
are required, so a token without a signature, with `alg: none`, signed by another key, tampered,
expired, for another audience or missing a claim is refused the same way.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from jose import JWTError, jwt

from app.core.config import Settings

ALGORITHM = "HS256"
# Our tokens are a few hundred bytes; a huge one is an attack on the parser, refused unread.
MAX_TOKEN_LENGTH = 4096
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")

_hasher = PasswordHasher()
# Verifying against this keeps the timing of "no such user" close to "wrong password".
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_secret(plain: str) -> str:
    return _hasher.hash(plain)


def verify_secret(stored_hash: str | None, plain: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, plain) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def new_client_id() -> str:
    return "zs_" + secrets.token_hex(8)


class InvalidTokenError(Exception):
    """The token cannot be trusted; the message says why (for logs and the 401 detail)."""


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    scopes: frozenset[str]
    issued_at: datetime
    expires_at: datetime
    token_id: str


def create_access_token(settings: Settings, subject: str, scopes: frozenset[str]) -> tuple[str, int]:
    now = datetime.now(UTC)
    ttl = settings.access_token_ttl_seconds
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": uuid.uuid4().hex,
        "scope": " ".join(sorted(scopes)),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), ttl


def decode_access_token(settings: Settings, token: str) -> TokenClaims:
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError("token too large")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise InvalidTokenError("unexpected signing algorithm")
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={f"require_{claim}": True for claim in REQUIRED_CLAIMS} | {"leeway": 0},
        )
    except JWTError as exc:
        raise InvalidTokenError(str(exc)) from exc
    subject = claims.get("sub")
    scope = claims.get("scope", "")
    if not isinstance(subject, str) or not isinstance(scope, str):
        raise InvalidTokenError("malformed claims")
    return TokenClaims(
        subject=subject,
        scopes=frozenset(scope.split()),
        issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        token_id=str(claims.get("jti", "")),
    )
