"""Audit trail: one row per write, added to the caller's session so it commits (or not) with the write."""

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Select, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import request_id_var
from app.core.principal import Principal
from app.models import AuditEvent, Base
from app.models.base import utcnow
from app.services.pagination import Page, PageRequest, paginate

# Never copied into the audit trail, whatever the entity.
_SECRET_COLUMNS = frozenset({"password_hash", "secret_hash"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


@functools.cache
def _snapshot_keys(model: type[Base]) -> tuple[str, ...]:
    return tuple(attr.key for attr in inspect(model).column_attrs if attr.key not in _SECRET_COLUMNS)


def snapshot(entity: Base, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Column values of an ORM object as JSON-ready data, secrets left out."""
    skip = set(exclude)
    return {key: _jsonable(getattr(entity, key)) for key in _snapshot_keys(type(entity)) if key not in skip}


def snapshot_of(model: type[Base], values: dict[str, Any]) -> dict[str, Any]:
    """What `snapshot` gives for an object of `model` holding `values` (a row inserted without one)."""
    return {key: _jsonable(values.get(key)) for key in _snapshot_keys(model)}


def record(
    session: AsyncSession,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEvent | None:
    """Adds the audit row; an update that changed nothing writes nothing and returns None."""
    if before is not None and after is not None:
        # Keep only what changed: the row is easier to read and smaller.
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        if not changed:
            return None
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    event = AuditEvent(
        actor_type=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=before,
        after=after,
        request_id=request_id_var.get(),
    )
    session.add(event)
    return event


async def record_created(
    session: AsyncSession, actor: Principal, entity_type: str, created: Sequence[tuple[object, dict[str, Any]]]
) -> None:
    """The "create" rows of entities inserted together (each: id, snapshot), in one INSERT."""
    if not created:
        return
    common = {
        "actor_type": actor.kind,
        "actor_id": actor.id,
        "actor_name": actor.name,
        "action": "create",
        "entity_type": entity_type,
        "before": None,
        "request_id": request_id_var.get(),
        "occurred_at": utcnow(),
    }
    await session.execute(
        insert(AuditEvent), [common | {"entity_id": str(entity_id), "after": after} for entity_id, after in created]
    )


@dataclass(frozen=True)
class AuditFilter:
    entity_type: str | None = None
    entity_id: str | None = None
    actor_type: str | None = None
    actor_id: int | None = None
    action: str | None = None
    request_id: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


AUDIT_SORTS = {"occurred_at": AuditEvent.occurred_at, "id": AuditEvent.id}


def _filtered(flt: AuditFilter) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    equals = {
        AuditEvent.entity_type: flt.entity_type,
        AuditEvent.entity_id: flt.entity_id,
        AuditEvent.actor_type: flt.actor_type,
        AuditEvent.actor_id: flt.actor_id,
        AuditEvent.action: flt.action,
        AuditEvent.request_id: flt.request_id,
    }
    for column, value in equals.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if flt.occurred_from is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= flt.occurred_from)
    if flt.occurred_to is not None:
        stmt = stmt.where(AuditEvent.occurred_at < flt.occurred_to)
    return stmt


async def list_events(session: AsyncSession, flt: AuditFilter, page: PageRequest) -> Page[AuditEvent]:
    return await paginate(session, _filtered(flt), page, AUDIT_SORTS, AuditEvent.id)
