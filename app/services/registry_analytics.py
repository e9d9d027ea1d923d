"""Registry rollups, computed in SQL (GROUP BY, COUNT DISTINCT); Python only shapes the rows."""

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Enterprise, EnterpriseInvestorClass, EnterpriseSource, EnterpriseStatus, LandParcel, Zone
from app.models.functions import in_subquery
from app.schemas.analytics import (
    GroupRollup,
    GroupRollupPage,
    InvestorClassCount,
    MoneyTotal,
    SettlementCohort,
    SourceShare,
    ZoneSummary,
)
from app.services.calculators.units import share, yuan_to_yi
from app.services.trees import in_zone, roots, roots_of, subtree
from app.services.zones import area_basis, get_zone


def _money(rows: Iterable[Sequence[Any]]) -> list[MoneyTotal]:
    """Rows of (currency, amount) → totals, CNY first."""
    totals = [MoneyTotal(currency=c, amount=a or Decimal(0), amount_yi=yuan_to_yi(a or Decimal(0))) for c, a in rows]
    return sorted(totals, key=lambda t: (t.currency != "CNY", t.currency))


def _in_zone(zone_id: int | None) -> Any:
    return True if zone_id is None else in_zone(Enterprise.zone_id, zone_id)


async def settlement_cohort(
    session: AsyncSession, settled_from: date, settled_to: date, zone_id: int | None, list_year: int | None
) -> SettlementCohort:
    cohort: Select[Any] = select(Enterprise.id).where(
        Enterprise.settled_on >= settled_from, Enterprise.settled_on <= settled_to, _in_zone(zone_id)
    )
    members = cohort.subquery()
    size = await session.scalar(select(func.count()).select_from(members)) or 0

    capital = await session.execute(
        select(Enterprise.currency, func.sum(Enterprise.registered_capital))
        .where(Enterprise.id.in_(select(members.c.id)))
        .group_by(Enterprise.currency)
    )
    by_source_rows = dict(
        (
            await session.execute(
                select(Enterprise.source, func.count())
                .where(Enterprise.id.in_(select(members.c.id)))
                .group_by(Enterprise.source)
            )
        ).all()
    )
    class_filter: list[ColumnElement[bool]] = [EnterpriseInvestorClass.enterprise_id.in_(select(members.c.id))]
    if list_year is not None:
        class_filter.append(EnterpriseInvestorClass.list_year == list_year)
    per_class = (
        await session.execute(
            select(EnterpriseInvestorClass.investor_class, func.count(distinct(EnterpriseInvestorClass.enterprise_id)))
            .where(*class_filter)
            .group_by(EnterpriseInvestorClass.investor_class)
            .order_by(EnterpriseInvestorClass.investor_class)
        )
    ).all()
    any_class = (
        await session.scalar(select(func.count(distinct(EnterpriseInvestorClass.enterprise_id))).where(*class_filter))
        or 0
    )

    by_source = [
        SourceShare(source=s, count=by_source_rows.get(s, 0), share=share(by_source_rows.get(s, 0), size))
        for s in EnterpriseSource
    ]
    new_or_relocated = by_source_rows.get(EnterpriseSource.new, 0) + by_source_rows.get(EnterpriseSource.relocated, 0)
    return SettlementCohort(
        settled_from=settled_from,
        settled_to=settled_to,
        zone_id=zone_id,
        enterprises=size,
        registered_capital=_money(capital.all()),
        by_source=by_source,
        new_or_relocated=new_or_relocated,
        new_or_relocated_share=share(new_or_relocated, size),
        investor_classes=[InvestorClassCount(investor_class=c, enterprises=n) for c, n in per_class],
        in_any_investor_class=any_class,
        in_any_investor_class_share=share(any_class, size),
    )


async def group_rollup(session: AsyncSession, zone_id: int | None, limit: int, offset: int) -> GroupRollupPage:
    """Per top-level group: its companies at any depth (each counted once) and their registered capital."""
    tree = roots(Enterprise)
    companies = (
        select(tree.c.root_id, Enterprise.id, Enterprise.currency, Enterprise.registered_capital)
        .join(Enterprise, Enterprise.id == tree.c.id)
        .where(tree.c.id != tree.c.root_id, _in_zone(zone_id))
        .subquery()
    )
    total = await session.scalar(select(func.count(distinct(companies.c.root_id)))) or 0
    page = (
        await session.execute(
            select(companies.c.root_id, Enterprise.name, func.count())
            .join(Enterprise, Enterprise.id == companies.c.root_id)
            .group_by(companies.c.root_id, Enterprise.name)
            .order_by(func.count().desc(), companies.c.root_id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    ids = [row[0] for row in page]
    capital: dict[int, list[tuple[str, Decimal]]] = {i: [] for i in ids}
    for root_id, currency, amount in await session.execute(
        select(companies.c.root_id, companies.c.currency, func.sum(companies.c.registered_capital))
        .where(companies.c.root_id.in_(ids))
        .group_by(companies.c.root_id, companies.c.currency)
    ):
        capital[root_id].append((currency, amount))
    return GroupRollupPage(
        items=[
            GroupRollup(group_id=i, group_name=name, companies=n, registered_capital=_money(capital[i]))
            for i, name, n in page
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


async def zone_summary(session: AsyncSession, zone_id: int, as_of: date) -> ZoneSummary:
    await get_zone(session, zone_id)
    zones = subtree(Zone, zone_id, "zone_subtree")
    tree = roots_of(
        Enterprise,
        in_subquery(Enterprise.zone_id, select(zones.c.id).scalar_subquery()),
        Enterprise.status == EnterpriseStatus.active,
        or_(Enterprise.settled_on.is_(None), Enterprise.settled_on <= as_of),
    )
    present = (
        select(Enterprise.id, Enterprise.currency, Enterprise.registered_capital, tree.c.root_id)
        .join(tree, tree.c.id == Enterprise.id)
        .subquery()
    )
    in_group = present.c.root_id != present.c.id
    enterprises, companies, groups = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(in_group),
                func.count(distinct(present.c.root_id)).filter(in_group),
            )
        )
    ).one()
    capital = await session.execute(
        select(present.c.currency, func.sum(present.c.registered_capital)).where(in_group).group_by(present.c.currency)
    )
    parcels = (
        select(LandParcel.id, LandParcel.area_m2, LandParcel.buyer_enterprise_id)
        .where(
            in_subquery(LandParcel.zone_id, select(zones.c.id).scalar_subquery()), LandParcel.transferred_on <= as_of
        )
        .subquery()
    )
    parcel_count, parcel_area, buyers = (
        await session.execute(
            select(func.count(), func.sum(parcels.c.area_m2), func.count(distinct(parcels.c.buyer_enterprise_id)))
        )
    ).one()
    operating = await session.scalar(
        select(func.count(distinct(Enterprise.id))).where(
            Enterprise.id.in_(select(parcels.c.buyer_enterprise_id)), Enterprise.operations_started_on <= as_of
        )
    )
    basis = await area_basis(session, zone_id, as_of)
    return ZoneSummary(
        zone_id=zone_id,
        as_of=as_of,
        enterprises=enterprises,
        groups=groups,
        companies=companies,
        companies_registered_capital=_money(capital.all()),
        parcels_transferred=parcel_count,
        parcels_transferred_area_m2=parcel_area or Decimal(0),
        land_buyers=buyers,
        land_buyers_operating=operating or 0,
        area_km2=basis.area_km2,
    )
