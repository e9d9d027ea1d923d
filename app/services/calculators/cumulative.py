"""Monthly and cumulative (1–N月) values of one enterprise, metric and year, derived from what was reported.

Sources report either a month's own value or the 1–N月 cumulative. Both are kept answerable: each month
stores what was reported and the two derived figures. 上月止累计 + 本月 = 本月止累计.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Reported:
    cumulative: bool  # True: a 1–N月 figure; False: the month's own value (当月)
    value: Decimal


@dataclass(frozen=True)
class Derived:
    monthly: Decimal | None  # None when an earlier month is missing, so the split is unknown
    ytd: Decimal | None


@dataclass(frozen=True)
class Inconsistency:
    month: int
    message: str


def derive_year(
    reported: Mapping[int, Reported], *, non_negative: bool
) -> tuple[dict[int, Derived], list[Inconsistency]]:
    """Derive every reported month's monthly and cumulative value, in month order.

    A month's cumulative is the previous cumulative plus its own value (or as reported); its own value
    is its cumulative minus the previous one. A gap (an unreported month) leaves what depends on it
    unknown rather than guessed. For a non-negative metric a month's own value below zero — a
    cumulative below the previous month's — is an inconsistency, reported against that month.
    """
    derived: dict[int, Derived] = {}
    problems: list[Inconsistency] = []
    previous: Decimal | None = Decimal(0)  # the cumulative before January is zero
    highest = Decimal(0)  # the highest cumulative known so far: even across a gap, none may fall below it
    for month in range(1, 13):
        if month not in reported:
            previous = None
            continue
        report = reported[month]
        if report.cumulative:
            own = report.value - previous if previous is not None else None
            cumulative: Decimal | None = report.value
        else:
            own = report.value
            cumulative = previous + report.value if previous is not None else None
        if non_negative and ((own is not None and own < 0) or (cumulative is not None and cumulative < highest)):
            problems.append(
                Inconsistency(
                    month,
                    f"{month}月累计低于此前已知累计 {highest}（当月值为负）/ month {month}'s cumulative falls below "
                    f"an earlier one ({highest}): its own value would be negative",
                )
            )
        if cumulative is not None:
            highest = max(highest, cumulative)
        derived[month] = Derived(monthly=own, ytd=cumulative)
        previous = cumulative
    return derived, problems
