"""Units and presentation rounding (once, at the end, ROUND_HALF_UP)."""

from decimal import ROUND_HALF_UP, Decimal

YUAN_PER_WAN = Decimal(10_000)  # 1 万元
YUAN_PER_YI = Decimal(100_000_000)  # 1 亿元
MU_PER_KM2 = Decimal(1500)  # 1 km² = 1,500 亩
_UNITS = {"元": Decimal(1), "万元": YUAN_PER_WAN, "亿元": YUAN_PER_YI}


def round_half_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def in_unit(yuan: Decimal, unit: str, places: int = 2) -> Decimal:
    """元 → 元 / 万元 / 亿元, rounded for display."""
    return round_half_up(yuan / _UNITS[unit], places)


def yuan_to_yi(yuan: Decimal, places: int = 2) -> Decimal:
    """元 → 亿元, rounded for display."""
    return in_unit(yuan, "亿元", places)


def km2_to_mu(km2: Decimal) -> Decimal:
    return km2 * MU_PER_KM2


def share(part: int | Decimal, whole: int | Decimal, places: int = 4) -> Decimal | None:
    """part / whole as a ratio rounded for display; None when the whole is zero."""
    if whole == 0:
        return None
    return round_half_up(Decimal(part) / Decimal(whole), places)
