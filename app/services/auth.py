"""Token issuing (password and client-credentials grants), login throttling, and token → principal."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import ProblemError
from app.core.principal import Principal
from app.core.scopes import ROLE_SCOPES, Role, parse_scopes
from app.core.security import (
    TokenClaims,
    create_access_token,
    credential_fingerprint,
    same_credential,
    verify_secret,
)
from app.models import ApiClient, AuthFailure, User


class OAuthError(ProblemError):
    """A token-endpoint error; carries RFC 6749's `error` member beside the problem fields."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, error, detail, extra={"error": error}, headers=headers)


def _invalid_grant() -> OAuthError:
    # One message for unknown user, wrong password and disabled account: no account enumeration.
    return OAuthError(400, "invalid_grant", "用户名或密码错误，或账号已停用 / wrong credentials or disabled account")


def _invalid_client() -> OAuthError:
    return OAuthError(
        401,
        "invalid_client",
        "客户端认证失败 / client authentication failed",
        headers={"WWW-Authenticate": "Basic"},
    )


async def _attempt(session: AsyncSession, settings: Settings, subject: str) -> None:
    """Counts this attempt first (committed on its own), then refuses it if it is over the limit.

    Recording before verifying means parallel guesses cannot all slip past the count; a successful
    attempt clears the subject's record afterwards.
    """
    now = datetime.now(UTC)
    since = now - timedelta(seconds=settings.login_window_seconds)
    await session.execute(delete(AuthFailure).where(AuthFailure.subject == subject, AuthFailure.occurred_at <= since))
    session.add(AuthFailure(subject=subject, occurred_at=now))
    await session.commit()
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(AuthFailure.occurred_at)).where(
                AuthFailure.subject == subject, AuthFailure.occurred_at > since
            )
        )
    ).one()
    if count > settings.login_max_failures and oldest is not None:
        retry_after = max(1, int((oldest - since).total_seconds()) + 1)
        raise ProblemError(
            429,
            "rate_limited",
            f"失败次数过多，请 {retry_after} 秒后再试 / too many failed attempts, retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


def _grant(allowed: frozenset[str], requested: frozenset[str]) -> frozenset[str]:
    """Granted scopes are the intersection; asking for nothing means asking for everything allowed."""
    if not requested:
        return allowed
    granted = allowed & requested
    if not granted:
        raise OAuthError(400, "invalid_scope", "请求的权限范围均未获授权 / none of the requested scopes is allowed")
    return granted


async def password_grant(
    session: AsyncSession, settings: Settings, username: str, password: str, scope: str | None, source: str
) -> tuple[str, int, frozenset[str]]:
    # Throttled per account *and* source address: guessing is slowed, yet nobody elsewhere can lock
    # an officer out of their own desk by failing on purpose.
    subject = f"user:{username.strip().lower()}@{source}"
    await _attempt(session, settings, subject)
    user = await session.scalar(select(User).where(User.username == username.strip().lower()))
    if not await verify_secret(user.password_hash if user else None, password) or user is None or not user.is_active:
        raise _invalid_grant()
    await session.execute(delete(AuthFailure).where(AuthFailure.subject == subject))
    # A login is not an edit: Core UPDATE so neither `version` (the ETag) nor `updated_at` moves.
    await session.execute(
        update(User).where(User.id == user.id).values(last_login_at=datetime.now(UTC), updated_at=User.updated_at)
    )
    granted = _grant(ROLE_SCOPES[Role(user.role)], parse_scopes(scope))
    token, ttl = create_access_token(settings, f"user:{user.id}", granted, credential_fingerprint(user.password_hash))
    return token, ttl, granted


async def client_credentials_grant(
    session: AsyncSession, settings: Settings, client_id: str, client_secret: str, scope: str | None, source: str
) -> tuple[str, int, frozenset[str]]:
    subject = f"client:{client_id}@{source}"
    await _attempt(session, settings, subject)
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if (
        not await verify_secret(client.secret_hash if client else None, client_secret)
        or client is None
        or not (client.is_active)
    ):
        raise _invalid_client()
    await session.execute(delete(AuthFailure).where(AuthFailure.subject == subject))
    granted = _grant(parse_scopes(client.scopes), parse_scopes(scope))
    token, ttl = create_access_token(
        settings, f"client:{client.id}", granted, credential_fingerprint(client.secret_hash)
    )
    return token, ttl, granted


async def resolve_principal(session: AsyncSession, claims: TokenClaims) -> Principal | None:
    """The caller behind a valid token, or None if the account is gone, disabled or re-keyed.

    Scopes are re-intersected with what the account may hold now, so a demotion or a narrowed
    client takes effect at once rather than when old tokens expire; a new password or client
    secret retires every token issued before it.
    """
    if claims.kind == "user":
        user = (
            await session.execute(
                select(User.username, User.role, User.is_active, User.password_hash).where(
                    User.id == claims.principal_id
                )
            )
        ).one_or_none()
        if user is None or not user.is_active or not same_credential(claims.credential, user.password_hash):
            return None
        allowed = ROLE_SCOPES[Role(user.role)]
        return Principal("user", claims.principal_id, user.username, claims.scopes & allowed, role=user.role)
    client = (
        await session.execute(
            select(ApiClient.name, ApiClient.scopes, ApiClient.is_active, ApiClient.secret_hash).where(
                ApiClient.id == claims.principal_id
            )
        )
    ).one_or_none()
    if client is None or not client.is_active or not same_credential(claims.credential, client.secret_hash):
        return None
    return Principal("client", claims.principal_id, client.name, claims.scopes & parse_scopes(client.scopes))


class PrincipalCache:
    """Principals resolved in the last AUTH_CACHE_SECONDS, so a busy caller costs one account lookup per
    interval instead of one per request (a query is the largest share of a small read).

    Only accounts found valid are kept. The key holds the token's credential fingerprint and scopes, so a
    token of another password or scope never matches. The services forget an account as they change it, so
    this process sees a disable, a demotion or a new secret at once; other worker processes within the
    interval. AUTH_CACHE_SECONDS=0 looks every caller up on every request.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int, str, frozenset[str]], tuple[float, Principal]] = {}
        self.clock: Callable[[], float] = time.monotonic  # settable in tests

    @staticmethod
    def _key(claims: TokenClaims) -> tuple[str, int, str, frozenset[str]]:
        return (claims.kind, claims.principal_id, claims.credential, claims.scopes)

    def get(self, claims: TokenClaims) -> Principal | None:
        found = self._entries.get(self._key(claims))
        if found is None:
            return None
        until, principal = found
        if until <= self.clock():
            del self._entries[self._key(claims)]
            return None
        return principal

    def put(self, claims: TokenClaims, principal: Principal, seconds: float) -> None:
        if seconds <= 0:
            return
        now = self.clock()
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
        self._entries[self._key(claims)] = (now + seconds, principal)

    def forget(self, kind: str, principal_id: int) -> None:
        for key in [k for k in self._entries if k[0] == kind and k[1] == principal_id]:
            self._entries.pop(key, None)


principals = PrincipalCache()
