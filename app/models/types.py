"""Portable column types: exact money and timezone-aware UTC instants on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine


class ScaledDecimal(TypeDecorator[Decimal]):
    """A Decimal with a fixed number of fractional digits, stored exactly on both databases.

    PostgreSQL gets ``NUMERIC(precision, scale)``. SQLite stores NUMERIC as a float and loses
    digits, so there the value is kept as a 64-bit integer count of the smallest unit (e.g. fen for
    ``scale=2``, up to about 9.2×10¹⁶ yuan; schemas cap amounts far below that); ``SUM`` over that
    column stays exact and is converted back on the way out.
    A value with more fractional digits than the scale is refused, never silently rounded.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 20, scale: int = 2) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            if isinstance(value, float):
                raise TypeError("ScaledDecimal refuses float values; pass a Decimal")
            value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite decimal")
        quantized = value.quantize(self._quantum)
        if quantized != value:
            raise ValueError(f"{value} has more than {self.scale} fractional digits")
        if dialect.name == "sqlite":
            return int(quantized.scaleb(self.scale))
        return quantized

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale).quantize(self._quantum)
        return Decimal(value).quantize(self._quantum)


def money() -> ScaledDecimal:
    """Yuan with fen precision: ``NUMERIC(20, 2)`` (a plain ScaledDecimal, so migrations render it as one)."""
    return ScaledDecimal(precision=20, scale=2)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant. Refuses naive datetimes, stores UTC, always returns an aware UTC datetime.

    SQLite keeps no offset, so values are normalised to UTC before storage (their text then
    sorts and compares correctly) and the UTC zone is re-attached on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError("UTCDateTime expects a datetime")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: instants must carry a timezone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant: datetime = value
        if instant.tzinfo is None:
            return instant.replace(tzinfo=UTC)
        return instant.astimezone(UTC)
