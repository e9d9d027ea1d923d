"""One JSON object per log line. Sensitive keys are masked before anything is written."""

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from app.core.context import request_id_var

_SENSITIVE_KEY = re.compile(r"pass(word)?|secret|token|authorization|cookie|api[_-]?key", re.IGNORECASE)
# Anything shaped like a JWT that slips into a message is masked too.
_JWT_LIKE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
# PostgreSQL puts the offending values into its error text ("Key (national_id)=(4401…) already exists",
# "Failing row contains (…)"); the statement's parameters are hidden by the engine, these must go too.
_DATABASE_DETAIL = re.compile(
    r"(DETAIL:\s*)[^\n]*"
    r"|(Key \([^)]*\)=)\([^\n]*?\)(?= already exists| is not present|\s|$)"
    r"|(Failing row contains )\([^\n]*\)"
)


def _redact(text: str) -> str:
    text = _JWT_LIKE.sub("***", text)
    return _DATABASE_DETAIL.sub(lambda m: next(g for g in m.groups() if g is not None) + "[redacted]", text)


# Uvicorn adds `color_message` (the same text with ANSI colours): noise in JSON.
_RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}


def _mask(key: str, value: Any) -> Any:
    if _SENSITIVE_KEY.search(key):
        return "***"
    if isinstance(value, str):
        return _redact(value)
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _redact(record.getMessage()),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = _mask(key, value)
        if record.exc_info:
            entry["exc_info"] = _redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    # Replace only our own handler (an app built twice in one process must not log twice).
    root.handlers[:] = [h for h in root.handlers if not isinstance(h.formatter, JsonFormatter)]
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Uvicorn's access log prints full URLs; ours (app.access) logs path, status and timing only.
    logging.getLogger("uvicorn.access").disabled = True
    # aiosqlite logs every statement with its bound values at DEBUG: personal data (ID numbers, phones)
    # must not reach the log even when an operator turns LOG_LEVEL up. SQLAlchemy's own logging is
    # covered by the engine's hide_parameters.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO; a webhook subscriber's URL may carry its own token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
