"""`Idempotency-Key` on POST: a retry gets the first answer instead of doing the write twice.

The key is claimed (committed) before the request runs, per caller (the token's subject):
- the same key with the same request replays the stored status, headers and body (`Idempotent-Replayed: true`);
- the same key with a different method, path, query or body is refused (422 `idempotency_key_reused`);
- while the first request still runs, a retry gets 409 `idempotency_in_progress` with `Retry-After`, so
  parallel retries never run the write twice;
- a 5xx answer is not kept: the claim is released and a retry runs again.
Keys are kept `idempotency_retention_hours`. A claim whose request never finished (the worker died) is
released after `idempotency_stale_seconds`.
"""

import hashlib
import logging
import re
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any

from python_multipart.multipart import parse_options_header
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings
from app.core.db import Database
from app.core.errors import problem_response
from app.core.security import InvalidTokenError, decode_access_token
from app.models import IdempotencyKey
from app.models.base import utcnow

logger = logging.getLogger("app.idempotency")

HEADER = "idempotency-key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Response headers worth replaying; the rest (request id, security headers) belong to each answer.
_KEPT_HEADERS = ("content-type", "location", "etag")
_PURGE_EVERY_SECONDS = 60.0
_IN_MEMORY_BYTES = 1 << 20
_REPLAY_CHUNK = 1 << 16


def _fingerprint(scope: Scope, body_digest: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), body_digest):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class _BoundaryBlind:
    """A multipart body with its boundary masked, chunk by chunk: clients draw a new random boundary for
    each attempt, and a retry of the same upload must fingerprint the same."""

    _MASK = b"--\x00"  # NUL is not a boundary character (RFC 2046), so the mask never starts a match

    def __init__(self, content_type: str) -> None:
        media_type, options = parse_options_header(content_type)
        boundary = options.get(b"boundary", b"") if media_type.startswith(b"multipart/") else b""
        self.marker = b"--" + boundary if boundary else b""
        self.carry = b""

    def feed(self, chunk: bytes) -> bytes:
        if not self.marker:
            return chunk
        data = (self.carry + chunk).replace(self.marker, self._MASK)
        # The last bytes may begin a marker that ends in the next chunk.
        keep = len(self.marker) - 1
        self.carry, out = data[-keep:], data[:-keep]
        return out

    def end(self) -> bytes:
        out, self.carry = self.carry, b""
        return out


class _Body:
    """The request body, read once before the route runs: its digest for the fingerprint, and a receive()
    that plays it to the route again. Beyond 1 MB (an import upload may be 100 MB) it waits in a temporary
    file rather than in memory."""

    def __init__(self, content_type: str) -> None:
        self.digest = hashlib.sha256()
        self.normalised = _BoundaryBlind(content_type)
        self.file = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY_BYTES)  # noqa: SIM115 - closed by replay
        self.size = 0
        self.played = False
        self.after: list[Message] = []  # e.g. a disconnect that came while reading
        self.complete = False  # the last chunk arrived (not a disconnect halfway)

    async def read(self, receive: Receive) -> None:
        # The body limit is enforced further out (RequestContextMiddleware): this reads at most that much.
        while True:
            message = await receive()
            if message["type"] != "http.request":
                self.after.append(message)
                break
            chunk = message.get("body", b"")
            self.digest.update(self.normalised.feed(chunk))
            self.file.write(chunk)
            self.size += len(chunk)
            if not message.get("more_body", False):
                self.complete = True
                break
        self.digest.update(self.normalised.end())
        self.file.seek(0)

    def replay(self, receive: Receive) -> Receive:
        async def replayed() -> Message:
            if not self.played:
                chunk = self.file.read(_REPLAY_CHUNK)
                left = self.file.tell() < self.size
                if not left:
                    self.close()
                # A body cut short is played as cut short: more was announced, then the disconnect comes.
                return {"type": "http.request", "body": chunk, "more_body": left or not self.complete}
            return self.after.pop(0) if self.after else await receive()

        return replayed

    def close(self) -> None:
        self.played = True
        self.file.close()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._last_purge = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        subject = self._subject(headers)
        if key is None or subject is None:
            # No key, or no valid token (the route answers 401): nothing to remember.
            await self.app(scope, receive, send)
            return
        if not _VALID_KEY.match(key):
            response = problem_response(
                400,
                "invalid_idempotency_key",
                "Idempotency-Key 须为 1–255 个可见 ASCII 字符 / Idempotency-Key must be 1-255 visible ASCII characters",
            )
            await response(scope, receive, send)
            return

        body = _Body(headers.get("content-type", ""))
        try:
            await body.read(receive)
        except StarletteHTTPException as exc:  # the body limit, counted as chunks arrive
            body.close()
            await problem_response(exc.status_code, "payload_too_large", str(exc.detail))(scope, receive, send)
            return
        if not body.complete:
            # The client went away mid-body: nothing to remember, and its retry must not find the key taken.
            try:
                await self.app(scope, body.replay(receive), send)
            finally:
                body.close()
            return
        fingerprint = _fingerprint(scope, body.digest.digest())
        database: Database = scope["app"].state.database
        try:
            claimed = await self._claim(database, subject, key, fingerprint)
        except BaseException:
            body.close()
            raise
        if claimed is not None:
            body.close()
            await claimed(scope, receive, send)
            return

        status = 500
        kept: dict[str, str] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = Headers(raw=message.get("headers", []))
                kept.update({name: out[name] for name in _KEPT_HEADERS if name in out})
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, body.replay(receive), capture)
        finally:
            body.close()
            await self._finish(database, subject, key, status, kept, b"".join(chunks))

    def _subject(self, headers: Headers) -> str | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = decode_access_token(self.settings, token.strip())
        except InvalidTokenError:
            return None
        return f"{claims.kind}:{claims.principal_id}"

    async def _claim(self, database: Database, subject: str, key: str, fingerprint: str) -> Any:
        """None when this request now holds the key; otherwise the response to send instead."""
        now = utcnow()
        retention = now - timedelta(hours=self.settings.idempotency_retention_hours)
        stale = now - timedelta(seconds=self.settings.idempotency_stale_seconds)
        for _attempt in range(2):
            async with database.session() as session:
                await self._purge(session, retention)
                found = await session.scalar(
                    select(IdempotencyKey).where(IdempotencyKey.principal == subject, IdempotencyKey.key == key)
                )
                expired = found is not None and (
                    found.created_at < retention or (found.status is None and found.created_at < stale)
                )
                if found is not None and not expired:
                    return self._answer_for(found, fingerprint)
                if found is not None:
                    await session.delete(found)
                    await session.flush()
                session.add(IdempotencyKey(principal=subject, key=key, fingerprint=fingerprint, created_at=now))
                try:
                    await session.flush()
                except IntegrityError:
                    # A parallel retry claimed it a moment ago: answer from its row on the next pass.
                    await session.rollback()
                    continue
            return None
        return self._in_progress()

    async def _purge(self, session: AsyncSession, retention: datetime) -> None:
        """Drops expired keys now and then, in the claim's own transaction."""
        if time.monotonic() - self._last_purge < _PURGE_EVERY_SECONDS:
            return
        self._last_purge = time.monotonic()
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < retention))

    def _answer_for(self, found: IdempotencyKey, fingerprint: str) -> Any:
        if found.fingerprint != fingerprint:
            return problem_response(
                422,
                "idempotency_key_reused",
                "该 Idempotency-Key 已用于另一个请求 / this Idempotency-Key was used for a different request",
            )
        if found.status is None:
            return self._in_progress()
        return _Replay(found.status, found.headers or {}, found.body or b"")

    @staticmethod
    def _in_progress() -> Any:
        return problem_response(
            409,
            "idempotency_in_progress",
            "使用该 Idempotency-Key 的请求仍在处理 / a request with this Idempotency-Key is still running",
            headers={"Retry-After": "1"},
        )

    async def _finish(
        self, database: Database, subject: str, key: str, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        where = (IdempotencyKey.principal == subject, IdempotencyKey.key == key, IdempotencyKey.status.is_(None))
        try:
            async with database.session() as session:
                if status >= 500:
                    await session.execute(delete(IdempotencyKey).where(*where))
                else:
                    await session.execute(
                        update(IdempotencyKey).where(*where).values(status=status, headers=headers, body=body)
                    )
        except Exception:
            # The write itself is done; a retry will meet the claim and wait for it to go stale.
            logger.exception("could not record the response for an idempotency key")


class _Replay:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    async def __call__(self, _scope: Scope, _receive: Receive, send: Send) -> None:
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()]
        raw += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(self.body)).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": raw})
        await send({"type": "http.response.body", "body": self.body})
