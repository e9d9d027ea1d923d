"""The service clock, and business dates in Asia/Shanghai.

Everything that asks "what is today" goes through the app's clock, so tests can set it to 23:30 in
Guangzhou (15:30 UTC) and check the day boundary; production uses the system clock.
"""

from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told (tests, demos); `instant` must be timezone-aware."""

    def __init__(self, instant: datetime) -> None:
        self.set(instant)

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.instant = instant

    def now(self) -> datetime:
        return self.instant


def shanghai_date(instant: datetime) -> date:
    return instant.astimezone(SHANGHAI).date()
