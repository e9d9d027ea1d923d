"""Money stays exact and instants stay aware on both databases (the two classic SQLite losses)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select
from sqlalchemy.exc import StatementError

from app.core.db import Database
from app.models.types import ScaledDecimal, UTCDateTime, money

metadata = MetaData()
probe = Table(
    "type_probe",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", money()),
    Column("rate", ScaledDecimal(precision=12, scale=6)),
    Column("at", UTCDateTime()),
)

SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture
async def probe_table(database: Database) -> AsyncIterator[Table]:
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield probe
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)


async def test_money_keeps_every_digit_a_float_would_lose(database: Database, probe_table: Table) -> None:
    # 17 significant digits: a float (SQLite's NUMERIC) returns 12345678901234568.
    big = Decimal("123456789012345.67")
    async with database.engine.begin() as conn:
        await conn.execute(
            insert(probe_table), [{"amount": big}, {"amount": Decimal("0.10")}, {"amount": Decimal("0.20")}]
        )
        values = list(await conn.scalars(select(probe_table.c.amount).order_by(probe_table.c.id)))
        total = await conn.scalar(select(func.sum(probe_table.c.amount)))
    assert values == [big, Decimal("0.10"), Decimal("0.20")]
    assert all(isinstance(v, Decimal) for v in values)
    # 0.1 + 0.2 summed in the database is exactly 0.30, and the big value survives the SUM.
    assert total == Decimal("123456789012345.97")


async def test_scaled_decimal_keeps_six_places(database: Database, probe_table: Table) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(insert(probe_table), [{"rate": Decimal("0.261234")}, {"rate": Decimal("-1.5")}])
        rates = list(await conn.scalars(select(probe_table.c.rate).order_by(probe_table.c.id)))
    assert rates == [Decimal("0.261234"), Decimal("-1.500000")]


@pytest.mark.parametrize("bad", [Decimal("1.005"), 0.1, Decimal("NaN")])
async def test_money_refuses_lossy_input(database: Database, probe_table: Table, bad: object) -> None:
    async with database.engine.begin() as conn:
        with pytest.raises(StatementError):
            await conn.execute(insert(probe_table), [{"amount": bad}])


async def test_instants_come_back_aware_and_equal(database: Database, probe_table: Table) -> None:
    # 23:30 in Guangzhou is 15:30 UTC the same day; SQLite would silently drop the +08:00.
    local = datetime(2018, 10, 31, 23, 30, 15, 123456, tzinfo=SHANGHAI)
    async with database.engine.begin() as conn:
        await conn.execute(insert(probe_table), [{"at": local}])
        stored = await conn.scalar(select(probe_table.c.at))
        later = await conn.scalar(
            select(func.count()).where(probe_table.c.at > datetime(2018, 10, 31, 15, 0, tzinfo=UTC))
        )
    assert stored == local
    assert stored.utcoffset() == timedelta(0)
    assert stored.hour == 15
    assert later == 1


async def test_naive_datetime_is_refused(database: Database, probe_table: Table) -> None:
    async with database.engine.begin() as conn:
        with pytest.raises(StatementError, match="naive"):
            await conn.execute(insert(probe_table), [{"at": datetime(2018, 10, 31, 23, 30)}])  # noqa: DTZ001
