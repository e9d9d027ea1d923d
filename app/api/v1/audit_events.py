from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import IdQuery, SessionDep, require, sort_dependency
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.core.scopes import CONFIDENTIAL, PERSONAL_DATA, SENSITIVE_KPIS
from app.schemas.audit import AuditEventRead
from app.schemas.common import VISIBLE_TEXT, Instant, PageOut
from app.services import audit as service
from app.services import kpi_facts
from app.services.pagination import PageRequest

# What an audit reader may see of a snapshot depends on its clearances, as on the live resource.
_CLEARANCE = {
    ("project", "name"): CONFIDENTIAL,
    # The investor would give a code-named project away as surely as its name (as in GET /projects).
    ("project", "enterprise_id"): CONFIDENTIAL,
    ("enterprise", "contacts"): PERSONAL_DATA,
}
# The figures of facts and targets, hidden when their metric is sensitive (tax) as in GET /kpi-facts.
_FIGURES = {"kpi_fact": frozenset({"reported_value", "monthly_value", "ytd_value"}), "target": frozenset({"value"})}


async def _sensitive_figures(
    session: SessionDep, events: list[AuditEventRead], scopes: frozenset[str]
) -> dict[str, set[str]]:
    """entity type → ids whose figures the caller may not see."""
    if SENSITIVE_KPIS in scopes:
        return {}
    hidden: dict[str, set[str]] = {}
    for entity_type in _FIGURES:
        ids = {int(e.entity_id) for e in events if e.entity_type == entity_type and e.entity_id.isdigit()}
        if ids:
            hidden[entity_type] = {str(i) for i in await kpi_facts.sensitive_figure_ids(session, entity_type, ids)}
    return hidden


def _redacted(event: AuditEventRead, scopes: frozenset[str], figures: dict[str, set[str]]) -> AuditEventRead:
    hidden = {
        field for (entity, field), scope in _CLEARANCE.items() if entity == event.entity_type and scope not in scopes
    }
    if event.entity_id in figures.get(event.entity_type, ()):
        hidden |= _FIGURES[event.entity_type]
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
    # No control characters (NUL cannot even be sent to PostgreSQL): a 422, not a database error.
    entity_type: Annotated[str | None, Query(max_length=64, pattern=VISIBLE_TEXT)] = None,
    entity_id: Annotated[str | None, Query(max_length=64, pattern=VISIBLE_TEXT)] = None,
    actor_type: Literal["user", "client", "system"] | None = None,
    actor_id: IdQuery = None,
    action: Annotated[str | None, Query(max_length=32, pattern=VISIBLE_TEXT)] = None,
    request_id: Annotated[str | None, Query(max_length=128, pattern=VISIBLE_TEXT)] = None,
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
    events = [AuditEventRead.model_validate(e) for e in result.items]
    figures = await _sensitive_figures(session, events, _actor.scopes)
    return PageOut[AuditEventRead](
        items=[_redacted(e, _actor.scopes, figures) for e in events],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )
