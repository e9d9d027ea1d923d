"""The signature on every delivery: HMAC-SHA256 over `"{timestamp}.{body}"` with the subscription's secret.

Sent as `Zhaoshang-Signature: t=<unix seconds>,v1=<hex digest>`. The timestamp is inside the signed text, so
a receiver that also checks it is recent (say within five minutes) cannot be fed an old delivery again.
"""

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Zhaoshang-Signature"
EVENT_HEADER = "Zhaoshang-Event"
DELIVERY_HEADER = "Zhaoshang-Delivery"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that makes leaked secrets easy to recognise, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `b"{timestamp}." + body` keyed with the secret."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_seconds: int = 300) -> bool:
    """What a receiver does (the README's recipe): parse the header, check the time, compare in constant time."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), fields.get("v1", ""))
