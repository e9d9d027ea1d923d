"""信息处理费 (processing fee for disclosure requests), 国办函〔2020〕109号, in force from 2021-01-01.

Charged on an excess-progressive basis, either per item or per volume, never both for one application:
- per item, by the applicant's n-th application in a natural month: 1–10 free; 11–30: 100 yuan each;
  from 31, each further band of 10 costs 100 yuan more per item (31–40: 200, 41–50: 300, …);
- per volume, by pages provided for one application: up to 30 free; 31–100: 10 yuan a page; 101–200:
  20 yuan a page; beyond 200: 40 yuan a page.
"""

from datetime import date
from decimal import Decimal

IN_FORCE_FROM = date(2021, 1, 1)


def per_item_fee(ordinal_in_month: int) -> Decimal:
    """The fee for the applicant's `ordinal_in_month`-th application (1-based) in one natural month."""
    if ordinal_in_month < 1:
        raise ValueError("the ordinal starts at 1")
    if ordinal_in_month <= 10:
        return Decimal(0)
    if ordinal_in_month <= 30:
        return Decimal(100)
    band = (ordinal_in_month - 31) // 10  # 31–40 → 0, 41–50 → 1, …
    return Decimal(200 + 100 * band)


def per_volume_fee(pages: int) -> Decimal:
    """The fee for one application answered with `pages` pages."""
    if pages < 0:
        raise ValueError("pages cannot be negative")
    tiers = ((30, 0), (100, 10), (200, 20))
    fee = 0
    lower = 0
    for upper, rate in tiers:
        fee += rate * max(0, min(pages, upper) - lower)
        lower = upper
    fee += 40 * max(0, pages - 200)
    return Decimal(fee)
