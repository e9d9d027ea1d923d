"""Display strings as official tables print them. Round once, here, ROUND_HALF_UP."""

from decimal import Decimal

from app.services.calculators.kpi import Growth
from app.services.calculators.units import round_half_up


def percent(ratio: Decimal | None, places: int = 1) -> str:
    """0.261 → "26.1%"; None → "--"."""
    return "--" if ratio is None else f"{round_half_up(ratio * 100, places)}%"


def growth_text(result: Growth) -> str:
    """+26.1% → "增长26.1%", −3% → "下降3.0%", +160% → "增长1.6倍", no rate → "--".

    From 100% up official tables write multiples of the base increase (增长1.6倍 = +160%).
    """
    if result.rate is None:
        return "--"
    if result.rate >= 1:
        return f"增长{round_half_up(result.rate, 1)}倍"
    if result.rate < 0:
        return f"下降{round_half_up(-result.rate * 100, 1)}%"
    return f"增长{round_half_up(result.rate * 100, 1)}%"
