import re
from datetime import datetime
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import AfterValidator, Field, StringConstraints

from app.models import DeliveryStatus, WebhookEventType
from app.schemas.common import VISIBLE_TEXT, Flag, InputModel, PatchModel, ReadModel, ShortText

MAX_URL_LENGTH = 2000


def _receiver_url(value: str) -> str:
    # Direction overrides, zero-width marks and the BOM would make the URL an admin reads differ from the one called.
    if not re.match(VISIBLE_TEXT, value):
        raise ValueError("the URL holds invisible or direction-changing characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError("only http:// and https:// URLs can receive webhooks")
    if parts.username is not None or parts.password is not None:
        raise ValueError("no credentials in the URL: verify the Zhaoshang-Signature header instead")
    if not parts.hostname:
        raise ValueError("the URL needs a host")
    if parts.fragment:
        raise ValueError("a fragment (#…) is never sent; leave it out")
    try:
        _ = parts.port
        httpx.URL(value)
    except (ValueError, httpx.InvalidURL):
        raise ValueError("not a valid URL") from None
    return value


ReceiverUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_LENGTH, pattern=r"^[^\s\x00-\x1f\x7f]+$"),
    AfterValidator(_receiver_url),
]


def _distinct(values: list[WebhookEventType]) -> list[WebhookEventType]:
    if len(set(values)) != len(values):
        raise ValueError("the same event type appears twice")
    return values


EventTypes = Annotated[
    list[WebhookEventType],
    Field(min_length=1, max_length=len(WebhookEventType), description="The event types to receive"),
    AfterValidator(_distinct),
]


class WebhookCreate(InputModel):
    url: ReceiverUrl = Field(description="http(s) URL that receives the POSTs; no user:password@ in it")
    event_types: EventTypes
    description: ShortText | None = Field(default=None, description="Who receives it, e.g. 区政务公开平台")
    is_active: Flag = True


class WebhookUpdate(PatchModel):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"description"})

    url: ReceiverUrl | None = None
    event_types: EventTypes | None = None
    description: ShortText | None = None
    is_active: Flag | None = Field(default=None, description="false pauses deliveries; true resumes them")


class WebhookRead(ReadModel):
    id: int
    url: str
    description: str | None
    event_types: list[str]
    is_active: bool
    secret_rotated_at: datetime
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookWithSecret(WebhookRead):
    secret: str = Field(
        description="Signs every delivery (HMAC-SHA256). Shown here only: store it now; rotate to get a new one."
    )


class EventTypeRead(ReadModel):
    type: str
    description: str


class WebhookEventRead(ReadModel):
    id: int
    type: str
    occurred_at: datetime
    data: dict[str, Any] = Field(description="The `data` object of the body sent")


class AttemptRead(ReadModel):
    number: int
    attempted_at: datetime
    status_code: int | None = Field(description="The receiver's HTTP status; null when none came back")
    error: str | None
    duration_ms: int
    succeeded: bool


class DeliveryRead(ReadModel):
    id: int = Field(description="Sent as the Zhaoshang-Delivery header; the same on every retry and redelivery")
    subscription_id: int
    status: DeliveryStatus
    attempts: int = Field(description="Attempts since it was queued or last redelivered")
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    last_duration_ms: int | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    event: WebhookEventRead
    attempt_log: list[AttemptRead] = Field(validation_alias="attempt_rows", description="Every attempt, oldest first")
