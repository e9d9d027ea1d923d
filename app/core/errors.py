"""RFC 9457 problem details: one exception type, one response shape, stable machine codes."""

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.core.context import request_id_var

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:zhaoshang:problem:"

logger = logging.getLogger("app.errors")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where the error is: body / query / path / header, then field names")
    message: str
    type: str = Field(description="Machine-readable error kind, e.g. missing, extra_forbidden, string_too_long")


class Problem(BaseModel):
    """RFC 9457 problem details. `code` is stable; `title` and `detail` are for people."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:zhaoshang:problem:not_found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["用户不存在 / user 42 not found"])
    code: str = Field(examples=["not_found"])
    request_id: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Raise from anywhere below the API; the handler turns it into problem+json."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class NotFoundError(ProblemError):
    def __init__(self, entity: str, key: object) -> None:
        super().__init__(404, "not_found", f"{entity} {key} 不存在 / {entity} {key} not found")


def field_problem(status: int, code: str, field: str, detail: str, **extra: Any) -> ProblemError:
    """A problem about one body field, named in `errors[]` the way validation errors name it."""
    return ProblemError(
        status, code, detail, errors=[{"loc": ["body", field], "message": detail, "type": code}], extra=extra
    )


def unknown_reference(field: str, entity: str, key: object) -> ProblemError:
    return field_problem(422, "unknown_reference", field, f"{entity} {key} 不存在 / {entity} {key} does not exist")


class ConflictError(ProblemError):
    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(409, code, detail, extra=extra)


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    request_id = request_id_var.get()
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = list(errors)
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    out_headers = dict(headers or {})
    if request_id:
        out_headers.setdefault("X-Request-ID", request_id)
    return JSONResponse(body, status_code=status, headers=out_headers, media_type=PROBLEM_MEDIA_TYPE)


_HTTP_CODES = {
    # Starlette/FastAPI raise 400 for bodies they cannot decode (bad encoding, nesting, multipart).
    400: ("malformed_body", "请求体无法解析 / the request body could not be parsed"),
    401: ("unauthenticated", "需要有效的访问令牌 / a valid access token is required"),
    403: ("forbidden", "无权执行此操作 / not allowed"),
    404: ("not_found", "资源不存在 / no such resource"),
    405: ("method_not_allowed", "该资源不支持此方法 / method not allowed on this resource"),
    406: ("not_acceptable", "无法提供所请求的格式 / cannot produce the requested media type"),
    413: ("payload_too_large", "请求体过大 / request body too large"),
    415: ("unsupported_media_type", "不支持的请求体类型 / unsupported request media type"),
}


async def _handle_problem(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(ProblemError, exc)
    return problem_response(
        exc.status,
        exc.code,
        exc.detail,
        title=exc.title,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
        instance=request.url.path,
    )


def _allowed_methods(request: Request) -> str:
    # The router names the methods of the first route on the path only (GET of GET /users, not POST).
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(StarletteHTTPException, exc)
    code, default_detail = _HTTP_CODES.get(exc.status_code, (f"http_{exc.status_code}", ""))
    # Framework messages are English-only and say less than ours; our own 413 detail is kept.
    detail = exc.detail if exc.status_code == 413 and exc.detail else default_detail
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(
        exc.status_code,
        code,
        str(detail) or HTTPStatus(exc.status_code).phrase,
        headers=headers,
        instance=request.url.path,
    )


def _error_message(error: Mapping[str, Any]) -> str:
    return str(error.get("msg", "invalid value"))


MAX_LISTED_ERRORS = 50


async def _handle_validation(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(RequestValidationError, exc)
    raw = exc.errors()
    # A body of 100,000 unknown keys must not produce a 10 MB answer: list the first few, count all.
    errors = [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "message": _error_message(e),
            "type": str(e.get("type", "value_error")),
        }
        for e in raw[:MAX_LISTED_ERRORS]
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(
            400,
            "malformed_json",
            "请求体不是合法的 JSON / the request body is not valid JSON",
            errors=errors,
            instance=request.url.path,
        )
    return problem_response(
        422,
        "validation_failed",
        f"请求数据有 {len(raw)} 处错误 / {len(raw)} invalid field(s) in the request"
        + (f" (first {MAX_LISTED_ERRORS} listed)" if len(raw) > MAX_LISTED_ERRORS else ""),
        errors=errors,
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _handle_problem)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(RequestValidationError, _handle_validation)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the problem+json errors a route can answer."""
    descriptions = {
        400: "Body cannot be parsed: `malformed_json`, `malformed_body`",
        401: "Missing, expired or forged token: `unauthenticated` (`WWW-Authenticate` says why: invalid_token…)",
        403: "Token lacks the scope this route needs: `insufficient_scope`",
        404: "No such resource (or hidden from the caller): `not_found`",
        409: "Conflicts with the stored state, e.g. a duplicate key: `conflict`, `duplicate`",
        410: "The cursor predates deletions no longer kept: `cursor_expired` (empty the mirror, read from the start)",
        412: "`If-Match` does not name the current version: `version_mismatch`",
        413: "Body larger than the configured limit: `payload_too_large`",
        415: "Body is not `application/json`: `unsupported_media_type`",
        422: "Validation failed; `errors[]` lists each field: `validation_failed`",
        428: "`If-Match` header required for this write: `if_match_required`",
        429: "Too many attempts; retry after `Retry-After` seconds: `rate_limited`",
        500: "Unexpected error (generic text, no internals): `internal_error`",
        503: "Database unavailable; retry after `Retry-After`: `service_unavailable`",
    }
    if 415 in statuses:
        # A route that takes a JSON body also answers a malformed one, or one over MAX_BODY_BYTES.
        statuses = (*statuses, 400, 413)
    return {
        status: {"model": Problem, "description": descriptions[status], "content": {PROBLEM_MEDIA_TYPE: {}}}
        for status in sorted(set(statuses))
    }
