"""Outermost ASGI middleware: request ids, body limit, security headers, access log, last-resort 500."""

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.context import request_id_var
from app.core.errors import problem_response

access_logger = logging.getLogger("app.access")
error_logger = logging.getLogger("app.errors")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_DOCS_PATHS = ("/docs", "/redoc", "/static-offline-docs")
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc are served from our own origin; they need inline bootstrap code and blob workers.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'"
)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_upload_bytes: int, upload_prefix: str) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # File uploads (imports) may be larger than a JSON body; only their routes get the larger limit.
        self.max_upload_bytes = max_upload_bytes
        self.upload_prefix = upload_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = Headers(scope=scope)
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope["path"]
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                out = MutableHeaders(scope=message)
                out["X-Request-ID"] = request_id
                out.setdefault("X-Content-Type-Options", "nosniff")
                out.setdefault("X-Frame-Options", "DENY")
                out.setdefault("Referrer-Policy", "no-referrer")
                docs = path.startswith(_DOCS_PATHS)
                out.setdefault("Content-Security-Policy", _DOCS_CSP if docs else _API_CSP)
                if not docs:
                    out.setdefault("Cache-Control", "no-store")
            await send(message)

        limit = self.max_upload_bytes if path.startswith(self.upload_prefix) else self.max_body_bytes
        try:
            declared = headers.get("content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                response = problem_response(
                    413, "payload_too_large", f"请求体超过 {limit} 字节上限 / body exceeds {limit} bytes"
                )
                await response(scope, receive, send_wrapper)
                return
            await self.app(scope, self._limited(receive, limit), send_wrapper)
        except Exception:
            error_logger.exception("unhandled error", extra={"path": path, "method": scope["method"]})
            if not response_started:
                response = problem_response(
                    500,
                    "internal_error",
                    "服务器内部错误，请稍后再试 / internal error, please try again later",
                )
                await response(scope, receive, send_wrapper)
        finally:
            principal = scope["state"].get("principal_label")
            access_logger.info(
                "%s %s %s",
                scope["method"],
                path,
                status,
                extra={
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "principal": principal,
                    "client": (scope.get("client") or ("-",))[0],
                },
            )
            request_id_var.reset(token)

    @staticmethod
    def _limited(receive: Receive, limit: int) -> Receive:
        # Chunked bodies carry no Content-Length: count as they arrive and stop at the limit.
        received = 0

        async def wrapped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise StarletteHTTPException(413, f"请求体超过 {limit} 字节上限 / body exceeds {limit} bytes")
            return message

        return wrapped
