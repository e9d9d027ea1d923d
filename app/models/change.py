"""The change log behind the change feeds: one row per flushed change to a mirrored resource.

Rows are written by a flush hook, not by each service, so no write path can forget them (a hand-over, for
example, changes an enterprise's `service_officer_id` without an "enterprise" audit event). A change to a
child row (an enterprise's contacts, a milestone's re-plans, an item's channels) is logged as a change of
its parent resource, whose read model contains it.

`txid` is the writing transaction's id on PostgreSQL (0 on SQLite, where writers are serialised): the
feed orders by `(txid, id)` and only serves rows of transactions older than every running one, so a
transaction that commits late can never land behind a cursor already handed out.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Index, Integer, String, Text, cast, event, func, insert, inspect, select
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, utcnow
from app.models.consultation_event import ConsultationAppointment, ConsultationEvent
from app.models.department import Department
from app.models.disclosure import DisclosureItem, DisclosureItemChannel, DisclosureRemedy, DisclosureRequest
from app.models.enterprise import Enterprise, EnterpriseContact, EnterpriseInvestorClass
from app.models.kpi import KpiFact, Metric
from app.models.land_parcel import LandParcel
from app.models.meeting import MajorDecision, Meeting
from app.models.project import Escalation, Milestone, MilestoneReplan, MilestoneTemplate, Project
from app.models.service_officer import ServiceOfficerAssignment
from app.models.service_request import ServiceRequest, ServiceType
from app.models.talent import (
    ApartmentAllocation,
    ApartmentBatch,
    ApartmentUnit,
    HouseholdRegistration,
    TalentGreenCard,
    TalentPerson,
)
from app.models.visit import Visit
from app.models.zone import Zone, ZoneAreaVersion


class Change(Base):
    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_resource_position", "resource", "txid", "id"),
        Index("ix_changes_entity", "resource", "entity_id", "txid", "id"),  # compaction finds a row's latest
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger, default=0)
    resource: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeHorizon(Base):
    """How far a resource's deletions have been forgotten: a cursor before this position may have missed one,
    so it is refused (410) and the mirror is rebuilt from the start."""

    __tablename__ = "change_horizons"

    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger)
    change_id: Mapped[int] = mapped_column(BigInteger)
    # Counts the forgettings: a cursor handed out since the last one has missed nothing.
    generation: Mapped[int] = mapped_column(Integer)
    pruned_at: Mapped[datetime] = mapped_column(default=utcnow)


# Which resources (and which of their rows) a flushed object changes. Besides its own row, an object may
# change what another resource's read model shows: a decision changes its meeting's decision count, and a
# meeting's date is each of its decisions' `decided_on`.
Rows = Callable[[Session, Any], Iterable[int]]


def _own(_session: Session, obj: Any) -> Iterable[int]:
    return (obj.id,)


def _parent(attribute: str) -> Rows:
    """The parent's id, before and after: a child moved to another parent changes both."""

    def rows(_session: Session, obj: Any) -> Iterable[int]:
        history = inspect(obj).attrs[attribute].history
        return {v for v in (*history.added, *history.unchanged, *history.deleted) if v is not None}

    return rows


def _decisions_of_a_redated_meeting(session: Session, meeting: Meeting) -> Iterable[int]:
    if meeting in session.new or not inspect(meeting).attrs.held_on.history.has_changes():
        return ()
    return list(session.connection().scalars(select(MajorDecision.id).where(MajorDecision.meeting_id == meeting.id)))


TRACKED: dict[type[Any], tuple[tuple[str, Rows], ...]] = {
    Enterprise: (("enterprises", _own),),
    EnterpriseContact: (("enterprises", _parent("enterprise_id")),),
    EnterpriseInvestorClass: (("enterprises", _parent("enterprise_id")),),
    Zone: (("zones", _own),),
    ZoneAreaVersion: (("zone_area_versions", _own),),
    LandParcel: (("land_parcels", _own),),
    Project: (("projects", _own),),
    Milestone: (("milestones", _own),),
    MilestoneReplan: (("milestones", _parent("milestone_id")),),
    Escalation: (("escalations", _own),),
    MilestoneTemplate: (("milestone_templates", _own),),
    Metric: (("metrics", _own),),
    KpiFact: (("kpi_facts", _own),),
    ServiceOfficerAssignment: (("service_officer_assignments", _own),),
    ServiceRequest: (("service_requests", _own), ("visits", _parent("visit_id"))),
    Department: (("departments", _own),),
    ServiceType: (("service_types", _own),),
    Visit: (("visits", _own),),
    ConsultationEvent: (("consultation_events", _own),),
    ConsultationAppointment: (("consultation_events", _parent("event_id")),),
    TalentPerson: (("talents", _own),),
    ApartmentBatch: (("apartment_batches", _own),),
    ApartmentUnit: (("apartment_units", _own), ("apartment_batches", _parent("batch_id"))),
    ApartmentAllocation: (("apartment_allocations", _own), ("apartment_units", _parent("unit_id"))),
    HouseholdRegistration: (("household_registrations", _own),),
    TalentGreenCard: (("talent_green_cards", _own),),
    DisclosureItem: (("disclosure_items", _own),),
    DisclosureItemChannel: (("disclosure_items", _parent("item_id")),),
    DisclosureRequest: (("disclosure_requests", _own),),
    DisclosureRemedy: (("disclosure_remedies", _own),),
    Meeting: (("meetings", _own), ("major_decisions", _decisions_of_a_redated_meeting)),
    MajorDecision: (("major_decisions", _own), ("meetings", _parent("meeting_id"))),
}
RESOURCES = frozenset(resource for links in TRACKED.values() for resource, _ in links)
# Parents whose read model lists a many-to-many collection (a visit's officers, a fair's departments).
_COLLECTIONS_SHOWN = frozenset({Visit, ConsultationEvent})


@event.listens_for(Session, "after_flush")
def _log_changes(session: Session, _flush: UOWTransaction) -> None:
    # after_flush still shows what was new, dirty and deleted, with new rows' ids assigned.
    touched: dict[tuple[str, int], None] = {}
    for obj in (*session.new, *session.deleted, *session.dirty):
        links = TRACKED.get(type(obj), ())
        collections = type(obj) in _COLLECTIONS_SHOWN
        if not links or (obj in session.dirty and not session.is_modified(obj, include_collections=collections)):
            continue
        for resource, rows in links:
            for entity_id in rows(session, obj):
                touched[(resource, entity_id)] = None
    log_changes(session.connection(), touched)


def log_changes(connection: Connection, touched: Iterable[tuple[str, int]]) -> None:
    """The change-log rows of changed (resource, entity id) pairs; writes done without the ORM call it too."""
    rows = [{"resource": resource, "entity_id": entity_id} for resource, entity_id in touched]
    if not rows:
        return
    txid: Any = 0
    if connection.dialect.name == "postgresql":
        txid = cast(cast(func.pg_current_xact_id(), Text), BigInteger)
    now = utcnow()
    connection.execute(insert(Change).values(txid=txid, changed_at=now), rows)
