from datetime import datetime
from typing import Any

from app.schemas.common import ReadModel


class AuditEventRead(ReadModel):
    id: int
    occurred_at: datetime
    actor_type: str
    actor_id: int | None
    actor_name: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
