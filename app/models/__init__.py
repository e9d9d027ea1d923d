"""ORM models. Importing this package registers every table on `Base.metadata` (Alembic needs that)."""

from app.models.api_client import ApiClient
from app.models.audit_event import AuditEvent
from app.models.auth_failure import AuthFailure
from app.models.base import Base
from app.models.user import User

__all__ = ["ApiClient", "AuditEvent", "AuthFailure", "Base", "User"]
