"""Per-request context that logging and error handlers read without a Request object."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
