"""信息处理费 by the 2020 rules: per item by the month's count, per volume by pages, both excess-progressive."""

from decimal import Decimal

import pytest

from app.services.calculators.disclosure_fee import per_item_fee, per_volume_fee


@pytest.mark.parametrize(
    ("ordinal", "fee"),
    [(1, 0), (10, 0), (11, 100), (30, 100), (31, 200), (40, 200), (41, 300), (50, 300), (51, 400), (95, 800)],
)
def test_per_item(ordinal: int, fee: int) -> None:
    assert per_item_fee(ordinal) == Decimal(fee)


@pytest.mark.parametrize(
    ("pages", "fee"),
    [
        (0, 0),
        (30, 0),
        (31, 10),
        (100, 700),  # 70 pages × 10
        (101, 720),
        (200, 2700),  # 700 + 100 × 20
        (201, 2740),
        (250, 4700),  # 2700 + 50 × 40
    ],
)
def test_per_volume(pages: int, fee: int) -> None:
    assert per_volume_fee(pages) == Decimal(fee)


def test_a_month_of_25_applications_costs_1500() -> None:
    # Ten free, then fifteen at 100 yuan: the excess is charged, not the whole month.
    assert sum(per_item_fee(n) for n in range(1, 26)) == Decimal(1500)


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        per_item_fee(0)
    with pytest.raises(ValueError, match="negative"):
        per_volume_fee(-1)
