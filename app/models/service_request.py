from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, TimestampMixin, VersionedMixin, utcnow


class ServiceCategory(StrEnum):
    enterprise = "enterprise"  # 企业服务
    talent = "talent"  # 人才服务


class RequestStatus(StrEnum):
    registered = "registered"  # 登记
    accepted = "accepted"  # 受理
    in_progress = "in_progress"  # 办理中
    resolved = "resolved"  # 办结
    evaluated = "evaluated"  # 已回访评价
    rejected = "rejected"  # 不予受理


# The closed loop 登记 → 受理 → 处理 → 办结 → 评价, one step at a time.
REQUEST_FLOW = (
    RequestStatus.registered,
    RequestStatus.accepted,
    RequestStatus.in_progress,
    RequestStatus.resolved,
    RequestStatus.evaluated,
)
# Rejection (不予受理) is an acceptance decision: possible before the work starts.
REJECTABLE = frozenset({RequestStatus.registered, RequestStatus.accepted})
OPEN_STATUSES = frozenset({RequestStatus.registered, RequestStatus.accepted, RequestStatus.in_progress})


class RejectionReason(StrEnum):
    in_litigation = "in_litigation"  # 已进入诉讼、仲裁程序
    in_administrative_review = "in_administrative_review"  # 已进入行政复议程序
    in_petition = "in_petition"  # 已进入信访程序
    in_disclosure_procedure = "in_disclosure_procedure"  # 属政府信息公开申请
    secrets_or_privacy = "secrets_or_privacy"  # 涉及国家秘密、商业秘密或个人隐私
    duplicate = "duplicate"  # 同一事实的重复诉求
    outside_remit = "outside_remit"  # 不属于企业服务范围
    other = "other"  # 其他（须说明）


class RequestSource(StrEnum):
    direct = "direct"  # 企业直接提出
    visit = "visit"  # 走访发现
    consultation = "consultation"  # 现场问诊会


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=32)


class ServiceType(VersionedMixin, TimestampMixin, Base):
    """The catalogue: a kind of request, the department responsible and its time limit in working days."""

    __tablename__ = "service_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[ServiceCategory] = mapped_column(_enum(ServiceCategory))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    time_limit_working_days: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str | None] = mapped_column(String(1000))
    is_active: Mapped[bool] = mapped_column(default=True)


class ServiceRequest(VersionedMixin, TimestampMixin, Base):
    """企业诉求: what an enterprise asked for, who handles it, by when (working days), and how it ended."""

    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_service_requests_received_on", "received_on"),
        Index("ix_service_requests_status_due", "status", "due_on"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    service_type_id: Mapped[int] = mapped_column(ForeignKey("service_types.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[RequestSource] = mapped_column(_enum(RequestSource))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("consultation_appointments.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    received_on: Mapped[date] = mapped_column(Date, doc="received_at's date in Asia/Shanghai")
    # Copied from the catalogue at registration: a later change to the catalogue does not move old due dates.
    time_limit_working_days: Mapped[int] = mapped_column(SmallInteger)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus))
    status_changed_at: Mapped[datetime]
    resolved_on: Mapped[date | None] = mapped_column(Date)
    resolution: Mapped[str | None] = mapped_column(Text)
    rejected_on: Mapped[date | None] = mapped_column(Date)
    rejection_reason: Mapped[RejectionReason | None] = mapped_column(_enum(RejectionReason))
    callback_on: Mapped[date | None] = mapped_column(Date, doc="回访 date")
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger, doc="1 (very dissatisfied) … 5 (very satisfied)")
    evaluated_on: Mapped[date | None] = mapped_column(Date)


class ServiceRequestEvent(Base):
    """One status change, dated when it happened (entered), with its note or reason code."""

    __tablename__ = "service_request_events"
    __table_args__ = (Index("ix_service_request_events_request", "request_id", "occurred_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    from_status: Mapped[RequestStatus | None] = mapped_column(_enum(RequestStatus))
    to_status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus))
    occurred_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[RejectionReason | None] = mapped_column(_enum(RejectionReason))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
