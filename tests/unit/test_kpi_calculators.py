"""KPI calculators, table-tested with the report's and the reference material's own figures."""

from datetime import date
from decimal import Decimal

import pytest

from app.services.calculators.kpi import (
    Comparable,
    Growth,
    Light,
    LightThresholds,
    NoRate,
    comparable_growth,
    completion,
    day_weighted_progress,
    gap_points,
    growth,
    intensity,
    reaching,
    time_progress,
    traffic_light,
)
from app.services.calculators.presentation import growth_text, percent
from app.services.calculators.units import in_unit, round_half_up

D = Decimal
YI = D(100_000_000)


@pytest.mark.parametrize(
    ("current", "base", "rate", "reason"),
    [
        (D("486.1"), D("385.5"), (D("486.1") - D("385.5")) / D("385.5"), None),
        (D(260), D(100), D("1.6"), None),  # +160%: printed as 增长1.6倍
        (D(90), D(100), D("-0.1"), None),
        (D(10), D(0), None, NoRate.base_not_positive),
        (D(10), D(-5), None, NoRate.base_not_positive),  # 由亏转盈: no rate
    ],
)
def test_growth(current: Decimal, base: Decimal, rate: Decimal | None, reason: NoRate | None) -> None:
    assert growth(current, base) == Growth(rate, reason)


def test_comparable_basis_leaves_members_without_a_base_out_of_both_sides() -> None:
    result = comparable_growth(
        {
            "腾讯": (D(100), D(80)),
            "阿里": (D(50), D(40)),
            "新设公司": (D(30), None),  # founded since: not counted as growth from zero
            "停报公司": (None, D(20)),  # no current figure: not counted as a collapse to zero
        }
    )
    assert (result.current, result.base) == (D(150), D(120))
    assert result.growth.rate == D("0.25")
    assert result.members == ["腾讯", "阿里"]
    assert result.excluded == {"新设公司": "no_base", "停报公司": "no_current"}


def test_comparable_basis_edge_cases() -> None:
    empty: Comparable[str] = comparable_growth({})
    assert empty.growth == Growth(None, NoRate.no_comparable_members)
    only_new = comparable_growth({"a": (D(5), None)})
    assert (only_new.growth.reason, only_new.excluded) == (NoRate.no_comparable_members, {"a": "no_base"})
    loss_base = comparable_growth({"a": (D(5), D(-3)), "b": (D(1), D(2))})
    assert loss_base.growth.reason is NoRate.base_not_positive  # summed base −1: no rate


@pytest.mark.parametrize(
    ("actual", "target", "expected"),
    [(D("486.1"), D(330), D("486.1") / D(330)), (D(1), D(0), None), (D(1), None, None), (D(0), D(5), D(0))],
)
def test_completion(actual: Decimal, target: Decimal | None, expected: Decimal | None) -> None:
    assert completion(actual, target) == expected


def test_time_progress_and_gap_as_published() -> None:
    # 1–10月: 629.0 / 647.4 = 97.16%, "超过时间进度13.8个百分点" (only with unrounded inputs)
    progress = time_progress(10)
    assert round_half_up(progress * 100, 2) == D("83.33")
    gap = gap_points(completion(D("629.0"), D("647.4")) or D(0), progress)
    assert round_half_up(gap, 1) == D("13.8")
    # 1–8月: 74% of plan, "超序时进度7.33个百分点"
    assert round_half_up(gap_points(D("0.74"), time_progress(8)), 2) == D("7.33")
    with pytest.raises(ValueError, match=r"1\.\.12"):
        time_progress(13)


def test_day_weighted_progress() -> None:
    assert day_weighted_progress(date(2018, 12, 31)) == 1
    assert day_weighted_progress(date(2020, 2, 29)) == D(60) / D(366)


@pytest.mark.parametrize(
    ("gap", "light"),
    [
        (D(0), Light.green),
        (D("13.8"), Light.green),
        (D("-0.01"), Light.yellow),
        (D(-10), Light.yellow),
        (D("-10.01"), Light.red),
    ],
)
def test_traffic_light_default_thresholds(gap: Decimal, light: Light) -> None:
    assert traffic_light(gap) is light


def test_traffic_light_configurable() -> None:
    # Yinchuan's rule: yellow 10–30 points behind, red beyond 30.
    yinchuan = LightThresholds(green_from=D(-10), yellow_from=D(-30))
    assert [traffic_light(D(g), yinchuan) for g in (-5, -20, -31)] == [Light.green, Light.yellow, Light.red]
    with pytest.raises(ValueError, match="yellow_from"):
        LightThresholds(green_from=D(-10), yellow_from=D(0))


def test_intensity_on_the_pazhou_basis() -> None:
    area = D("0.37")
    revenue = intensity(D("140.3") * YI, area)
    tax = intensity(D("9.3") * YI, area)
    investment = intensity(D("78.8") * YI, area)
    assert revenue is not None and tax is not None and investment is not None
    assert round_half_up(revenue.yi_per_km2, 1) == D("379.2")
    assert round_half_up(tax.yi_per_km2, 1) == D("25.1")
    assert round_half_up(investment.yi_per_km2, 2) == D("212.97")  # the report printed 212.9
    # 25.1亿元/km² ≈ 167.3万元/亩 from the unrounded value
    assert round_half_up(tax.wan_per_mu, 1) == D("167.6")
    assert round_half_up(intensity(D("25.1") * YI, D(1)).wan_per_mu, 1) == D("167.3")  # type: ignore[union-attr]
    assert intensity(D(1), D(0)) is None


def test_threshold_group() -> None:
    tax = {"腾讯": D("1.8") * YI, "赫基": D("1.0") * YI, "小米": D("0.99999999") * YI}
    assert reaching(tax, YI) == ["腾讯", "赫基"]  # 亿元税收企业: two


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (D("0.261"), "增长26.1%"),
        (D("0.9189"), "增长91.9%"),
        (D("1.6"), "增长1.6倍"),
        (D("1.10"), "增长1.1倍"),
        (D("-0.03"), "下降3.0%"),
        (None, "--"),
    ],
)
def test_growth_as_official_tables_print_it(rate: Decimal | None, text: str) -> None:
    assert growth_text(Growth(rate)) == text


def test_units_and_percent() -> None:
    assert in_unit(D("48610000000.00"), "亿元", 1) == D("486.1")
    assert in_unit(D("123456.78"), "万元") == D("12.35")
    assert in_unit(D("0.125") * YI, "亿元") == D("0.13")  # half-up, not banker's rounding
    assert percent(D("1.473")) == "147.3%"
    assert percent(None) == "--"
