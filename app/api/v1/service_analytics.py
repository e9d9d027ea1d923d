from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from app.api.deps import AnalyticsSessionDep, IdQuery, TodayDep, require
from app.core.errors import ProblemError, problem_responses
from app.core.principal import Principal
from app.models import HouseholdRegistration, TalentGreenCard
from app.schemas.common import QueryDate
from app.schemas.service_analytics import (
    ApartmentFigures,
    ApplicationFigures,
    GreenCardFigures,
    OfficerVisits,
    RequestStatistics,
    TalentServiceStatistics,
    VisitCoverage,
)
from app.services import service_analytics as service
from app.services import visits
from app.services.calculators.units import share
from app.services.zones import get_zone

router = APIRouter(prefix="/analytics", tags=["analytics 统计"], responses=problem_responses(401, 403, 422))


def _period(first: date, last: date, field: str) -> None:
    if last < first:
        raise ProblemError(
            422,
            "validation_failed",
            f"{field} 早于起始日期 / {field} is before the start of the period",
            errors=[{"loc": ["query", field], "message": "before the start of the period", "type": "date_order"}],
        )


@router.get(
    "/service-requests",
    response_model=RequestStatistics,
    summary="Service-request volumes, on-time rate and satisfaction by type, department or officer",
    description=(
        "Requests received in [received_from, received_to], with their outcomes as they stood on the period's "
        "end (or today, if that is earlier): a request resolved later still counts as open. On time = resolved "
        "on or before the due date (working days). Ratios are rounded to 4 places and the mean rating to 2 "
        "(ROUND_HALF_UP). `by=officer` groups by the assignee; unassigned requests form their own group."
    ),
)
async def request_statistics(
    session: AnalyticsSessionDep,
    _actor: Annotated[Principal, require("analytics:read", "services:read")],
    today: TodayDep,
    received_from: QueryDate,
    received_to: Annotated[QueryDate, Query(description="Inclusive")],
    by: Literal["service_type", "department", "officer"] = "service_type",
) -> RequestStatistics:
    _period(received_from, received_to, "received_to")
    as_of = min(received_to, today)
    total, groups = await service.request_statistics(session, received_from, received_to, as_of, by)
    labels = await service.group_labels(session, by, set(groups))

    def label(key: Any) -> tuple[str | None, str]:
        return labels.get(key, (None, "未分配 / unassigned" if key is None else str(key)))

    ordered = sorted(groups.items(), key=lambda item: (-item[1].raised, item[0] is None, item[0] or 0))
    return RequestStatistics(
        received_from=received_from,
        received_to=received_to,
        as_of=as_of,
        by=by,
        groups=[service.outcome_read(key, *label(key), o) for key, o in ordered],
        total=service.outcome_read(None, None, "合计 / total", total),
    )


@router.get(
    "/visits",
    response_model=VisitCoverage,
    summary="Visit coverage (走访): visits, distinct enterprises visited, issues raised, per officer",
    responses=problem_responses(404),
    description="Enterprises count once however often they were visited. `assigned_*` compares with the "
    "enterprises that had a primary service officer on `visited_to`.",
)
async def visit_coverage(
    session: AnalyticsSessionDep,
    _actor: Annotated[Principal, require("analytics:read", "services:read")],
    visited_from: QueryDate,
    visited_to: Annotated[QueryDate, Query(description="Inclusive")],
    zone_id: IdQuery = None,
) -> VisitCoverage:
    _period(visited_from, visited_to, "visited_to")
    if zone_id is not None:
        await get_zone(session, zone_id)
    count, enterprises, issues, per_officer = await visits.coverage(session, visited_from, visited_to, zone_id)
    assigned, assigned_visited = await service.assigned_coverage(session, visited_from, visited_to, zone_id)
    return VisitCoverage(
        visited_from=visited_from,
        visited_to=visited_to,
        visits=count,
        enterprises_visited=enterprises,
        issues_raised=issues,
        assigned_enterprises=assigned,
        assigned_enterprises_visited=assigned_visited,
        assigned_coverage=share(assigned_visited, assigned),
        by_officer=[
            OfficerVisits(
                officer_id=o.officer_id, display_name=o.display_name, visits=o.visits, enterprises=o.enterprises
            )
            for o in per_officer
        ],
    )


@router.get(
    "/talent-services",
    response_model=TalentServiceStatistics,
    summary="Talent services counted as the report counts them: distinct persons and distinct enterprises",
    description=(
        "Counted as things stood on `as_of` (within the period; default its end, or today if earlier): "
        "talents housed and their enterprises, rent-free ones apart; household registrations and green cards "
        "submitted and decided from `period_from` to `as_of`, as applications, distinct persons and distinct "
        "enterprises (the employer the application was for), and those still pending then. Green cards also "
        "count senior executives, and the senior executives of employers holding a Fortune Global 500 "
        "investor class (of `list_year`, if given)."
    ),
)
async def talent_statistics(
    session: AnalyticsSessionDep,
    _actor: Annotated[Principal, require("analytics:read", "talents:read")],
    today: TodayDep,
    period_from: QueryDate,
    period_to: Annotated[QueryDate, Query(description="Inclusive")],
    as_of: Annotated[
        QueryDate | None, Query(description="Within the period; default its end, or today if earlier")
    ] = None,
    list_year: Annotated[
        int | None, Query(ge=1955, le=2100, description="Count Fortune Global 500 employers of this list year only")
    ] = None,
) -> TalentServiceStatistics:
    _period(period_from, period_to, "period_to")
    day = as_of or min(period_to, today)
    if not period_from <= day <= period_to:
        raise ProblemError(
            422,
            "validation_failed",
            "as_of 须在统计期间内 / as_of must lie within the period",
            errors=[{"loc": ["query", "as_of"], "message": "outside the period", "type": "date_out_of_range"}],
        )
    # Everything is counted as it stood on `day`: what was decided later is neither approved nor pending yet.
    apartments = await service.apartment_counts(session, period_from, day, day)
    registrations = await service.application_counts(session, HouseholdRegistration, period_from, day, day)
    cards = await service.application_counts(session, TalentGreenCard, period_from, day, day, list_year)
    plain = {k: v for k, v in vars(registrations).items() if k in ApplicationFigures.model_fields}
    return TalentServiceStatistics(
        period_from=period_from,
        period_to=period_to,
        apartments=ApartmentFigures(as_of=day, **vars(apartments)),
        household_registrations=ApplicationFigures(**plain),
        green_cards=GreenCardFigures(**vars(cards)),
    )
