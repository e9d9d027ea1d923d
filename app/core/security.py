"""Password/secret hashing and access tokens.

Every JWT passes through here: the algorithm is pinned (HS256), and exp, iat, iss, aud and sub
are required, so a token without a signature, with `alg: none`, signed by another key, tampered,
expired, for another audience or missing a claim is refused the same way.
"""

import functools
import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from jose import JWTError, jwt

from app.core.config import Settings

ALGORITHM = "HS256"
# Our tokens are a few hundred bytes; a huge one is an attack on the parser, refused unread.
MAX_TOKEN_LENGTH = 4096
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
_SUBJECT = re.compile(r"^(user|client):([1-9][0-9]{0,9})$")
_MAX_ID = 2**31 - 1
# NumericDate bounds we accept: 2000-01-01 .. 2100-01-01 (anything else is not ours).
_MIN_TIME, _MAX_TIME = 946_684_800, 4_102_444_800

wall_clock: Callable[[], float] = time.time  # seconds since the epoch; settable in tests

_hasher = PasswordHasher()
# Verifying against this keeps the timing of "no such user" close to "wrong password".
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _verify(stored_hash: str | None, plain: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, plain) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# Argon2 costs ~0.1–0.2 s of CPU by design; in a worker thread it does not stall the event loop.
async def hash_secret(plain: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, plain)


async def verify_secret(stored_hash: str | None, plain: str) -> bool:
    return await anyio.to_thread.run_sync(_verify, stored_hash, plain)


def credential_fingerprint(stored_hash: str) -> str:
    """A short digest of the stored password/secret hash, carried in tokens as `cred`.

    Changing a password or rotating a secret changes the hash, so every token issued before
    stops matching at once, without a revocation list.
    """
    return hashlib.sha256(stored_hash.encode()).hexdigest()[:16]


def same_credential(token_fingerprint: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_fingerprint, credential_fingerprint(stored_hash))


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def new_client_id() -> str:
    return "zs_" + secrets.token_hex(8)


class InvalidTokenError(Exception):
    """The token cannot be trusted; the message says why (for logs and the 401 detail)."""


@dataclass(frozen=True)
class TokenClaims:
    kind: str  # "user" or "client"
    principal_id: int
    credential: str
    scopes: frozenset[str]


def create_access_token(settings: Settings, subject: str, scopes: frozenset[str], credential: str) -> tuple[str, int]:
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
        "cred": credential,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), ttl


def decode_access_token(settings: Settings, token: str) -> TokenClaims:
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError("token too large")
    claims, expires = _verified(settings.secret_key, settings.jwt_issuer, settings.jwt_audience, token)
    if expires <= wall_clock():  # a verified token is remembered: its expiry is checked at every use
        raise InvalidTokenError("Signature has expired.")
    return claims


# One SPA session or district system sends the same token for many requests: verifying its signature and
# claims once is enough. Keyed by the key, issuer and audience too; a token that fails is not remembered.
@functools.lru_cache(maxsize=4096)
def _verified(secret_key: str, issuer: str, audience: str, token: str) -> tuple[TokenClaims, int]:
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise InvalidTokenError("unexpected signing algorithm")
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={f"require_{claim}": True for claim in REQUIRED_CLAIMS} | {"leeway": 0},
        )
    except JWTError as exc:
        raise InvalidTokenError(str(exc)) from exc
    subject, scope, credential = claims.get("sub"), claims.get("scope", ""), claims.get("cred")
    match = _SUBJECT.match(subject) if isinstance(subject, str) else None
    if match is None or int(match.group(2)) > _MAX_ID:
        raise InvalidTokenError("malformed subject")
    if not isinstance(scope, str) or not isinstance(credential, str):
        raise InvalidTokenError("malformed claims")
    times = [claims["iat"], claims["exp"]]
    if not all(isinstance(t, int) and not isinstance(t, bool) and _MIN_TIME <= t <= _MAX_TIME for t in times):
        raise InvalidTokenError("implausible timestamps")
    verified = TokenClaims(
        kind=match.group(1),
        principal_id=int(match.group(2)),
        credential=credential,
        scopes=frozenset(scope.split()),
    )
    return verified, claims["exp"]
