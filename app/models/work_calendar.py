from datetime import date
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, VersionedMixin


class DayKind(StrEnum):
    holiday = "holiday"  # 放假 (a day of a holiday break)
    workday = "workday"  # 调休上班 (a make-up working day on a weekend)


class WorkCalendarYear(VersionedMixin, TimestampMixin, Base):
    """One year's holiday arrangement, as announced by the State Council. A year without a row is unknown:
    working-day questions that reach it are refused rather than guessed."""

    __tablename__ = "work_calendar_years"
    __table_args__ = ()  # the year is the key: nothing to autoincrement

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(200), doc="the notice(s), e.g. 国办发明电〔2017〕12号")
    published_on: Mapped[date | None] = mapped_column(Date)

    days: Mapped[list["WorkCalendarDay"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="WorkCalendarDay.day"
    )


class WorkCalendarDay(Base):
    """A day that differs from the Monday-to-Friday rule: a holiday, or a make-up working day."""

    __tablename__ = "work_calendar_days"
    __table_args__ = ()

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("work_calendar_years.year", ondelete="CASCADE"), index=True)
    kind: Mapped[DayKind] = mapped_column(Enum(DayKind, native_enum=False, length=16))
    name: Mapped[str] = mapped_column(String(50), doc="春节, 国庆节调休上班 …")
