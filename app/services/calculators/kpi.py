"""The report's statistics as pure functions on Decimal (no I/O): growth on a comparable basis, target
completion, time progress and the gap in percentage points, intensity, threshold groups.

Inputs are exact sums from SQL; nothing is rounded here. Rounding happens once, in `presentation`.
"""

import calendar
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Generic, TypeVar

from app.services.calculators.units import MU_PER_KM2, YUAN_PER_WAN, YUAN_PER_YI

K = TypeVar("K", bound=Hashable)
HUNDRED = Decimal(100)


class NoRate(StrEnum):
    base_not_positive = "base_not_positive"  # 基数为零或负：不计算增速，显示 "--"
    no_comparable_members = "no_comparable_members"  # 没有可比成员


@dataclass(frozen=True)
class Growth:
    rate: Decimal | None  # (current − base) / |base|; None when there is no rate
    reason: NoRate | None = None


def growth(current: Decimal, base: Decimal) -> Growth:
    """同比/环比增速. A base of zero or below gives no rate (official tables print "--")."""
    if base <= 0:
        return Growth(None, NoRate.base_not_positive)
    return Growth((current - base) / abs(base))


@dataclass(frozen=True)
class Comparable(Generic[K]):
    current: Decimal  # this period, comparable members only
    base: Decimal  # the same members, same months a year earlier
    growth: Growth
    members: list[K]
    excluded: dict[K, str] = field(default_factory=dict)  # member → "no_base" / "no_current"


def comparable_growth(values: Mapping[K, tuple[Decimal | None, Decimal | None]]) -> Comparable[K]:
    """Growth on a comparable basis (可比口径): `values` maps each cohort member to (current, base).

    A member without a base (founded or joined since) or without a current value is left out of BOTH
    sides and listed in `excluded`, never counted as zero.
    """
    current = base = Decimal(0)
    members: list[K] = []
    excluded: dict[K, str] = {}
    for member, (now, before) in values.items():
        if before is None:
            excluded[member] = "no_base"
        elif now is None:
            excluded[member] = "no_current"
        else:
            current += now
            base += before
            members.append(member)
    if not members:
        return Comparable(current, base, Growth(None, NoRate.no_comparable_members), members, excluded)
    return Comparable(current, base, growth(current, base), members, excluded)


def completion(actual: Decimal, target: Decimal | None) -> Decimal | None:
    """actual / target (a ratio; 1.473 is 147.3%). None without a positive target."""
    if target is None or target <= 0:
        return None
    return actual / target


def time_progress(last_month: int, *, months_in_year: int = 12) -> Decimal:
    """时序进度 through the end of `last_month` (1–12): months elapsed ÷ 12."""
    if not 1 <= last_month <= months_in_year:
        raise ValueError("last_month must be 1..12")
    return Decimal(last_month) / Decimal(months_in_year)


def day_weighted_progress(through: date) -> Decimal:
    """Days elapsed in the year through `through` (inclusive) ÷ days in the year."""
    days_in_year = 366 if calendar.isleap(through.year) else 365
    return Decimal(through.timetuple().tm_yday) / Decimal(days_in_year)


def gap_points(completion_ratio: Decimal, progress: Decimal) -> Decimal:
    """Completion minus time progress, in percentage points (97.16% − 83.33% = +13.83)."""
    return (completion_ratio - progress) * HUNDRED


class Light(StrEnum):
    green = "green"
    yellow = "yellow"
    red = "red"


@dataclass(frozen=True)
class LightThresholds:
    """gap ≥ green_from → green; gap ≥ yellow_from → yellow; below → red (percentage points)."""

    green_from: Decimal = Decimal(0)
    yellow_from: Decimal = Decimal(-10)

    def __post_init__(self) -> None:
        if self.yellow_from > self.green_from:
            raise ValueError("yellow_from must not be above green_from")


def traffic_light(gap: Decimal, thresholds: LightThresholds = LightThresholds()) -> Light:
    if gap >= thresholds.green_from:
        return Light.green
    if gap >= thresholds.yellow_from:
        return Light.yellow
    return Light.red


@dataclass(frozen=True)
class Intensity:
    yi_per_km2: Decimal  # 亿元/平方公里
    wan_per_mu: Decimal  # 万元/亩


def intensity(value_yuan: Decimal, area_km2: Decimal) -> Intensity | None:
    """地均强度 on the area basis; None without a positive area."""
    if area_km2 <= 0:
        return None
    per_km2 = value_yuan / area_km2
    return Intensity(yi_per_km2=per_km2 / YUAN_PER_YI, wan_per_mu=per_km2 / MU_PER_KM2 / YUAN_PER_WAN)


def reaching(values: Mapping[K, Decimal], threshold: Decimal) -> list[K]:
    """Members whose value reaches the threshold (e.g. 亿元税收企业: tax ≥ 1亿元), largest first."""
    return [k for k, v in sorted(values.items(), key=lambda kv: kv[1], reverse=True) if v >= threshold]
