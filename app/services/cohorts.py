"""Cohorts (named sets of enterprises, static or by rule), their members and their targets."""

import calendar
from datetime import date
from typing import Any

from sqlalchemy import Select, delete, exists, extract, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, ProblemError, field_problem, unknown_reference
from app.core.principal import Principal
from app.models import (
    Cohort,
    CohortKind,
    CohortMember,
    Enterprise,
    Metric,
    Project,
    ProjectStage,
    ProjectStageEvent,
    Target,
    Zone,
)
from app.schemas.kpi import CohortCreate, MemberIn, TargetIn
from app.services import audit
from app.services.calculators.periods import Period
from app.services.kpi_facts import ensure_visible
from app.services.trees import in_zone, subtree


def period_end(period: Period) -> date:
    return date(period.year, period.month, calendar.monthrange(period.year, period.month)[1])


def members_query(cohort: Cohort, on: date) -> Select[Any]:
    """SQL for the DISTINCT ids of the cohort's members on a date (the period's last day): each member
    counts once however many memberships or key projects it has, and only what was true on that date."""
    if cohort.kind is CohortKind.static:
        stmt: Select[Any] = select(CohortMember.enterprise_id).where(
            CohortMember.cohort_id == cohort.id,
            CohortMember.joined_on <= on,
            or_(CohortMember.left_on.is_(None), CohortMember.left_on > on),
        )
    elif cohort.kind is CohortKind.zone:
        stmt = select(Enterprise.id).where(in_zone(Enterprise.zone_id, cohort.rule_value or 0))
    elif cohort.kind is CohortKind.group:
        members = subtree(Enterprise, cohort.rule_value or 0, "group_subtree")
        stmt = select(members.c.id)
    elif cohort.kind is CohortKind.settled_year:
        stmt = select(Enterprise.id).where(
            extract("year", Enterprise.settled_on) == cohort.rule_value, Enterprise.settled_on <= on
        )
    else:
        dropped_by_then = (
            select(ProjectStageEvent.id)
            .where(
                ProjectStageEvent.project_id == Project.id,
                ProjectStageEvent.to_stage == ProjectStage.dropped,
                ProjectStageEvent.occurred_on <= on,
            )
            .exists()
        )
        stmt = select(Project.enterprise_id).where(
            Project.is_key.is_(True), Project.enterprise_id.is_not(None), Project.introduced_on <= on, ~dropped_by_then
        )
    return stmt.distinct()


async def list_cohorts(session: AsyncSession) -> list[Cohort]:
    return list(await session.scalars(select(Cohort).order_by(Cohort.code)))


async def get_cohort(session: AsyncSession, cohort_id: int) -> Cohort:
    cohort = await session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFoundError("cohort", cohort_id)
    return cohort


async def create_cohort(session: AsyncSession, actor: Principal, data: CohortCreate, today: date) -> Cohort:
    existing = await session.scalar(select(Cohort.id).where(Cohort.code == data.code))
    if existing is not None:
        raise ConflictError(
            "duplicate", f"口径编码 {data.code} 已存在 / cohort {data.code} exists", existing_id=existing
        )
    if data.kind is CohortKind.zone and await session.get(Zone, data.rule_value) is None:
        raise unknown_reference("rule_value", "zone", data.rule_value)
    if data.kind is CohortKind.group and await session.get(Enterprise, data.rule_value) is None:
        raise unknown_reference("rule_value", "enterprise (group)", data.rule_value)
    cohort = Cohort(code=data.code, name=data.name, kind=data.kind, rule_value=data.rule_value)
    # A rule that matches nobody is almost always a mistake (a wrong zone, a wrong year).
    matches = cohort.kind is CohortKind.static or await session.scalar(select(exists(members_query(cohort, today))))
    if not matches:
        field = "kind" if data.rule_value is None else "rule_value"
        raise field_problem(422, "empty_cohort", field, "该口径不包含任何企业 / the rule matches no enterprise")
    session.add(cohort)
    await session.flush()
    audit.record(session, actor, "create", "cohort", cohort.id, None, audit.snapshot(cohort))
    return cohort


async def list_members(session: AsyncSession, cohort_id: int) -> list[CohortMember]:
    await get_cohort(session, cohort_id)
    return list(
        await session.scalars(
            select(CohortMember).where(CohortMember.cohort_id == cohort_id).order_by(CohortMember.enterprise_id)
        )
    )


async def set_members(session: AsyncSession, actor: Principal, cohort_id: int, members: list[MemberIn]) -> None:
    """Replaces a static cohort's membership list (all or nothing)."""
    cohort = await get_cohort(session, cohort_id)
    if cohort.kind is not CohortKind.static:
        raise ConflictError("rule_cohort", "按规则的口径没有名单 / a rule cohort has no member list")
    ids = {m.enterprise_id for m in members}
    known = set(await session.scalars(select(Enterprise.id).where(Enterprise.id.in_(ids))))
    errors = [
        {
            "loc": ["body", i, "enterprise_id"],
            "message": f"企业 {m.enterprise_id} 不存在 / no such enterprise",
            "type": "unknown_reference",
        }
        for i, m in enumerate(members)
        if m.enterprise_id not in known
    ]
    # One enterprise's memberships may not overlap, or it would count twice for a period.
    last_end: dict[int, tuple[int, date | None]] = {}
    for i, m in sorted(enumerate(members), key=lambda im: (im[1].enterprise_id, im[1].joined_on)):
        if m.enterprise_id in last_end:
            previous, end = last_end[m.enterprise_id]
            if end is None or m.joined_on < end:
                errors.append(
                    {
                        "loc": ["body", i, "joined_on"],
                        "type": "overlapping_membership",
                        "message": f"与第 {previous} 项的会员期重叠 / overlaps item {previous}",
                    }
                )
        last_end[m.enterprise_id] = (i, m.left_on)
    if errors:
        raise ProblemError(
            422, "invalid_members", f"{len(errors)} 项有误 / {len(errors)} invalid member(s)", errors=errors[:50]
        )
    before = {"members": len(await list_members(session, cohort_id))}
    await session.execute(delete(CohortMember).where(CohortMember.cohort_id == cohort_id))
    session.add_all(
        CohortMember(cohort_id=cohort_id, enterprise_id=m.enterprise_id, joined_on=m.joined_on, left_on=m.left_on)
        for m in members
    )
    await session.flush()
    audit.record(session, actor, "set_members", "cohort", cohort_id, before, {"members": len(members)})


async def list_targets(session: AsyncSession, cohort_id: int) -> list[tuple[Target, str]]:
    await get_cohort(session, cohort_id)
    rows = await session.execute(
        select(Target, Metric.code)
        .join(Metric, Metric.id == Target.metric_id)
        .where(Target.cohort_id == cohort_id)
        .order_by(Target.year, Metric.code, Target.month.nulls_first())
    )
    return [(t, code) for t, code in rows]


async def upsert_target(session: AsyncSession, actor: Principal, cohort_id: int, data: TargetIn) -> tuple[Target, str]:
    await get_cohort(session, cohort_id)
    metric = await session.scalar(select(Metric).where(Metric.code == data.metric))
    if metric is None:
        raise unknown_reference("metric", "metric", data.metric)
    ensure_visible(metric, actor.scopes)  # a tax target is set, as tax figures are sent, by cleared callers only
    target = await session.scalar(
        select(Target).where(
            Target.cohort_id == cohort_id,
            Target.metric_id == metric.id,
            Target.year == data.year,
            Target.month.is_(None) if data.month is None else Target.month == data.month,
        )
    )
    if target is None:
        target = Target(cohort_id=cohort_id, metric_id=metric.id, year=data.year, month=data.month, value=data.value)
        session.add(target)
        await session.flush()
        audit.record(session, actor, "create", "target", target.id, None, audit.snapshot(target))
    elif target.value != data.value:
        before = audit.snapshot(target)
        target.value = data.value
        await session.flush()
        audit.record(session, actor, "update", "target", target.id, before, audit.snapshot(target))
    return target, metric.code


async def targets_for(session: AsyncSession, cohort_id: int, metric_id: int, period: Period) -> tuple[Any, Any]:
    """(annual, staged for 1–N月) targets, either possibly None."""
    rows = dict(
        (
            await session.execute(
                select(Target.month, Target.value).where(
                    Target.cohort_id == cohort_id,
                    Target.metric_id == metric_id,
                    Target.year == period.year,
                    or_(Target.month.is_(None), Target.month == period.month),
                )
            )
        ).all()
    )
    return rows.get(None), rows.get(period.month)
