from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import IdQuery, SessionDep, require, sort_dependency
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.schemas.audit import AuditEventRead
from app.schemas.common import Instant, PageOut
from app.services import audit as service
from app.services.pagination import PageRequest

# What an audit reader may see of a snapshot depends on its clearances, as on the live resource.
_CLEARANCE = {("project", "name"): "confidential:read", ("enterprise", "contacts"): "personal_data:read"}


def _redacted(event: AuditEventRead, scopes: frozenset[str]) -> AuditEventRead:
    hidden = {
        field for (entity, field), scope in _CLEARANCE.items() if entity == event.entity_type and scope not in scopes
    }
    if not hidden:
        return event
    return event.model_copy(
        update={
            side: {k: ("***" if k in hidden else v) for k, v in snapshot.items()}
            for side in ("before", "after")
            if (snapshot := getattr(event, side)) is not None
        }
    )


router = APIRouter(prefix="/audit-events", tags=["audit 审计"], responses=problem_responses(401, 403, 422))

AuditPage = Annotated[PageRequest, sort_dependency(service.AUDIT_SORTS, default="-occurred_at")]


@router.get(
    "",
    response_model=PageOut[AuditEventRead],
    summary="The audit trail: who changed what, when, before → after",
    description="Newest first by default. `occurred_from` is inclusive, `occurred_to` exclusive; both need an offset.",
)
async def list_audit_events(
    session: SessionDep,
    _actor: Annotated[Principal, require("audit:read")],
    page: AuditPage,
    entity_type: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_type: Literal["user", "client", "system"] | None = None,
    actor_id: IdQuery = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    request_id: Annotated[str | None, Query(max_length=128)] = None,
    occurred_from: Instant | None = None,
    occurred_to: Instant | None = None,
) -> PageOut[AuditEventRead]:
    flt = service.AuditFilter(
        entity_type=entity_type,
        entity_id=entity_id,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        request_id=request_id,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    result = await service.list_events(session, flt, page)
    return PageOut[AuditEventRead](
        items=[_redacted(AuditEventRead.model_validate(e), _actor.scopes) for e in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )
