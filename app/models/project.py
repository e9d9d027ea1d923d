from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Date, Enum, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, TimestampMixin, VersionedMixin, utcnow


class ProjectStage(StrEnum):
    negotiating = "negotiating"  # 在谈
    signed = "signed"  # 签约
    registered = "registered"  # 注册
    under_construction = "under_construction"  # 开工
    operating = "operating"  # 投产
    on_hold = "on_hold"  # 暂缓
    dropped = "dropped"  # 终止


# The forward pipeline; on_hold and dropped stand beside it.
PIPELINE = (
    ProjectStage.negotiating,
    ProjectStage.signed,
    ProjectStage.registered,
    ProjectStage.under_construction,
    ProjectStage.operating,
)


class Track(StrEnum):
    construction = "construction"  # 项目建设
    industry = "industry"  # 产业导入


class EscalationLevel(StrEnum):
    reminder = "reminder"  # 提醒
    supervision = "supervision"  # 督办
    interview = "interview"  # 约谈


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=32)


class Project(VersionedMixin, TimestampMixin, Base):
    """招商项目. `code_name` is what callers without `confidential:read` see instead of `name`."""

    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_stage", "stage"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code_name: Mapped[str | None] = mapped_column(String(100))
    project_type: Mapped[str | None] = mapped_column(String(32), doc="matches milestone templates")
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)
    is_key: Mapped[bool] = mapped_column(default=False)
    industry_code: Mapped[str | None] = mapped_column(ForeignKey("industries.code"))
    planned_investment: Mapped[Decimal | None]
    planned_registered_capital: Mapped[Decimal | None]
    responsible_officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, doc="项目部长")
    service_officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    introduced_on: Mapped[date] = mapped_column(Date, doc="when the office took the project up")
    stage: Mapped[ProjectStage] = mapped_column(_enum(ProjectStage))
    stage_since: Mapped[date] = mapped_column(Date)


class ProjectStageEvent(Base):
    """One dated stage change, as entered by an officer (the date it happened, not when it was typed)."""

    __tablename__ = "project_stage_events"
    __table_args__ = (Index("ix_project_stage_events_project", "project_id", "occurred_on"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    from_stage: Mapped[ProjectStage | None] = mapped_column(_enum(ProjectStage))
    to_stage: Mapped[ProjectStage] = mapped_column(_enum(ProjectStage))
    occurred_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Milestone(VersionedMixin, TimestampMixin, Base):
    """节点 on a track. `planned_on` is the original date, `due_on` the current one after re-plans."""

    __tablename__ = "milestones"
    __table_args__ = (
        Index("ix_milestones_project", "project_id", "track", "sort_order"),
        Index("ix_milestones_open_due", "due_on", "completed_on"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    track: Mapped[Track] = mapped_column(_enum(Track))
    name: Mapped[str] = mapped_column(String(200))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    planned_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))


class MilestoneReplan(Base):
    """A re-plan: every one is kept, with its reason, so the slip from the original is visible."""

    __tablename__ = "milestone_replans"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    previous_due_on: Mapped[date | None] = mapped_column(Date)
    new_due_on: Mapped[date] = mapped_column(Date)
    decided_on: Mapped[date] = mapped_column(Date, doc="the day the re-plan was decided (entered)")
    reason: Mapped[str] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Escalation(VersionedMixin, TimestampMixin, Base):
    """督办 on a project (or one of its milestones): reminder → supervision → interview."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_project", "project_id", "occurred_on"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id", ondelete="SET NULL"))
    level: Mapped[EscalationLevel] = mapped_column(_enum(EscalationLevel))
    occurred_on: Mapped[date] = mapped_column(Date)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(1000))
    outcome: Mapped[str | None] = mapped_column(String(1000))


supervision_round_projects = Table(
    "supervision_round_projects",
    Base.metadata,
    Column("round_id", ForeignKey("supervision_rounds.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class SupervisionRound(VersionedMixin, TimestampMixin, Base):
    """督查: a round of checking projects' progress, with findings and follow-up actions."""

    __tablename__ = "supervision_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    held_on: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(200))
    findings: Mapped[str] = mapped_column(Text)
    follow_up_actions: Mapped[str | None] = mapped_column(Text)


class MilestoneTemplate(VersionedMixin, TimestampMixin, Base):
    """A table of key milestones for a project type; applying it dates each item from a start date."""

    __tablename__ = "milestone_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    project_type: Mapped[str | None] = mapped_column(String(32), index=True)
    # [{"track": "construction", "name": "取得施工许可", "offset_days": 90}, …]
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
