from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.audit_event import JSONDocument
from app.models.base import NEVER_REUSE_IDS, Base, utcnow


class ReportKind(StrEnum):
    annual_work = "annual_work"  # 年度工作报告
    disclosure_annual = "disclosure_annual"  # 政府信息公开工作年度报告


class ReportSnapshot(Base):
    """A report frozen as it was generated: never updated, compared with later data on request."""

    __tablename__ = "report_snapshots"
    __table_args__ = (Index("ix_report_snapshots_kind_year", "kind", "year"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReportKind] = mapped_column(Enum(ReportKind, native_enum=False, length=32))
    year: Mapped[int] = mapped_column(SmallInteger)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    content: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    content_sha256: Mapped[str] = mapped_column(String(64))
    includes_sensitive: Mapped[bool] = mapped_column(doc="carries sensitive figures (tax): for cleared readers only")
    # The document as rendered when frozen (.docx or .xlsx): later code cannot change what was frozen.
    document: Mapped[bytes] = mapped_column(LargeBinary)
    title: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
