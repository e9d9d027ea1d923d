"""The change log behind the change feeds: one row per flushed change to a mirrored resource.

Rows are written by a flush hook, not by each service, so no write path can forget them (a hand-over, for
example, changes an enterprise's `service_officer_id` without an "enterprise" audit event). A change to a
child row (an enterprise's contacts, a milestone's re-plans, an item's channels) is logged as a change of
its parent resource, whose read model contains it.

`txid` is the writing transaction's id on PostgreSQL (0 on SQLite, where writers are serialised): the
feed orders by `(txid, id)` and only serves rows of transactions older than every running one, so a
transaction that commits late can never land behind a cursor already handed out.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, cast, event, func, insert
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, utcnow
from app.models.disclosure import DisclosureItem, DisclosureItemChannel
from app.models.enterprise import Enterprise, EnterpriseContact, EnterpriseInvestorClass
from app.models.kpi import KpiFact
from app.models.land_parcel import LandParcel
from app.models.project import Milestone, MilestoneReplan, Project
from app.models.service_request import ServiceRequest
from app.models.talent import TalentPerson
from app.models.zone import Zone


class Change(Base):
    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_resource_position", "resource", "txid", "id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger, default=0)
    resource: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


# Which resource (and which of its rows) a flushed object belongs to.
TRACKED: dict[type[Any], tuple[str, Callable[[Any], int]]] = {
    Enterprise: ("enterprises", lambda o: o.id),
    EnterpriseContact: ("enterprises", lambda o: o.enterprise_id),
    EnterpriseInvestorClass: ("enterprises", lambda o: o.enterprise_id),
    Zone: ("zones", lambda o: o.id),
    LandParcel: ("land_parcels", lambda o: o.id),
    Project: ("projects", lambda o: o.id),
    Milestone: ("milestones", lambda o: o.id),
    MilestoneReplan: ("milestones", lambda o: o.milestone_id),
    KpiFact: ("kpi_facts", lambda o: o.id),
    ServiceRequest: ("service_requests", lambda o: o.id),
    TalentPerson: ("talents", lambda o: o.id),
    DisclosureItem: ("disclosure_items", lambda o: o.id),
    DisclosureItemChannel: ("disclosure_items", lambda o: o.item_id),
}
RESOURCES = frozenset(resource for resource, _ in TRACKED.values())


@event.listens_for(Session, "after_flush")
def _log_changes(session: Session, _flush: UOWTransaction) -> None:
    # after_flush still shows what was new, dirty and deleted, with new rows' ids assigned.
    touched: dict[tuple[str, int], None] = {}
    for obj in (*session.new, *session.deleted, *session.dirty):
        tracked = TRACKED.get(type(obj))
        if tracked is None or (obj in session.dirty and not session.is_modified(obj, include_collections=False)):
            continue
        resource, entity_id = tracked
        touched[(resource, entity_id(obj))] = None
    if not touched:
        return
    connection = session.connection()
    txid: Any = 0
    if connection.dialect.name == "postgresql":
        txid = cast(cast(func.pg_current_xact_id(), Text), BigInteger)
    now = utcnow()
    connection.execute(
        insert(Change).values(txid=txid),
        [{"resource": resource, "entity_id": entity_id, "changed_at": now} for resource, entity_id in touched],
    )
