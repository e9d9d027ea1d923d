"""Report periods: a month `YYYY-MM`, and the cumulative range 1–N月 of its year."""

import re
from dataclasses import dataclass
from typing import Self

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
FIRST_YEAR, LAST_YEAR = 1990, 2100


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Self:
        match = _PERIOD.match(text)
        if match is None or not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
            raise ValueError(f"{text!r} is not a month like 2018-10 between {FIRST_YEAR} and {LAST_YEAR}")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def a_year_earlier(self) -> "Period":
        return Period(self.year - 1, self.month)

    @property
    def label(self) -> str:
        """As reports write it: 1–10月 for a cumulative through October."""
        return f"{self.year}年1–{self.month}月"
