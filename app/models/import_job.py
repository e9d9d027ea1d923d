from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.audit_event import JSONDocument
from app.models.base import NEVER_REUSE_IDS, Base, utcnow


class ImportStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"  # a dry run that found no errors, or a real run that was committed
    failed = "failed"  # the file or some rows were refused: nothing was written


class ImportJob(Base):
    """One uploaded file being checked (dry run) or imported, all or nothing."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_resource_created_at", "resource", "created_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))
    file_sha256: Mapped[str] = mapped_column(String(64))
    dry_run: Mapped[bool]
    status: Mapped[ImportStatus] = mapped_column(Enum(ImportStatus, native_enum=False, length=16))
    created_by: Mapped[str] = mapped_column(String(64), doc="principal label, e.g. user:3")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Moved while the job runs (at its start, and with each progress update where the database allows): a job
    # queued or running without a recent heartbeat lost its worker (a restart) and is marked failed.
    heartbeat_at: Mapped[datetime | None]
    rows_processed: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument, doc="the first 1,000 row errors")
    problem: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, doc="why the whole file was refused")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, doc="created / updated / unchanged")
