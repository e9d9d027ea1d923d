from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, TimestampMixin, VersionedMixin


class MeetingKind(StrEnum):
    central_group_study = "central_group_study"  # 中心组学习
    party_group_meeting = "party_group_meeting"  # 党组会议
    party_branch_meeting = "party_branch_meeting"  # 党支部会议
    democratic_life_meeting = "democratic_life_meeting"  # 民主生活会
    organisational_life_meeting = "organisational_life_meeting"  # 组织生活会
    office_meeting = "office_meeting"  # 办务会
    director_meeting = "director_meeting"  # 主任办公会


# Where "三重一大" matters are decided collectively (集体领导、民主集中、个别酝酿、会议决定).
DECISION_MEETINGS = frozenset(
    {MeetingKind.party_group_meeting, MeetingKind.office_meeting, MeetingKind.director_meeting}
)


class DecisionKind(StrEnum):
    major_matter = "major_matter"  # 重大事项决策
    appointment = "appointment"  # 重要干部任免
    project = "project"  # 重要项目安排
    large_sum = "large_sum"  # 大额度资金使用


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=32)


class Meeting(VersionedMixin, TimestampMixin, Base):
    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_held_on", "held_on"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MeetingKind] = mapped_column(_enum(MeetingKind))
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    topics: Mapped[str | None] = mapped_column(Text)
    attendees: Mapped[int | None]


class MajorDecision(VersionedMixin, TimestampMixin, Base):
    """A "三重一大" decision, taken collectively at a decision-making meeting."""

    __tablename__ = "major_decisions"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DecisionKind] = mapped_column(_enum(DecisionKind))
    title: Mapped[str] = mapped_column(String(200))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    amount: Mapped[Decimal | None] = mapped_column(doc="large_sum: the amount in yuan")
    note: Mapped[str | None] = mapped_column(Text)
