"""Where reads go: analytics and reports to the replica (DATABASE_REPLICA_URL), everything else to the
primary; and a read session (GET requests) cannot write."""

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import func, insert, select

from app.core.db import Database, ReadOnlySessionError
from app.core.migrations import alembic_config
from app.core.scopes import Role
from app.models import Zone, ZoneAreaVersion, ZoneKind
from tests.conftest import UserFactory, make_settings


@pytest.fixture
def replica_url(scratch_url: str) -> Iterator[str]:
    """A second database with the same schema, standing in for a streaming replica."""
    config = alembic_config(make_settings(database_url=scratch_url))
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")
    yield scratch_url


async def _zone(database: Database, code: str, area_km2: str | None = None) -> int:
    async with database.session() as session:
        zone = Zone(code=code, name=f"集聚区{code}", kind=ZoneKind.cluster)
        session.add(zone)
        await session.flush()
        if area_km2 is not None:
            session.add(ZoneAreaVersion(zone_id=zone.id, area_km2=Decimal(area_km2), effective_from=date(2015, 1, 1)))
        return zone.id


async def test_analytics_read_the_replica_while_records_read_the_primary(
    app_factory: Any, database: Database, replica_url: str, make_user: UserFactory
) -> None:
    app = app_factory(database_replica_url=replica_url)
    replica = Database(make_settings(database_url=replica_url))
    try:
        _, leader = await make_user(Role.leader)  # accounts are looked up on the primary
        shared_id = await _zone(database, "P1")  # on the primary, without an area
        assert await _zone(replica, "R1", "2.5") == shared_id  # the same id on the replica, with an area
        replica_only = await _zone(replica, "R2", "1.5")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            record = await client.get(f"/api/v1/zones/{shared_id}", headers=leader)
            assert record.status_code == 200 and record.json()["code"] == "P1"
            figures = await client.get(f"/api/v1/analytics/zones/{shared_id}?as_of=2018-10-31", headers=leader)
            assert figures.status_code == 200
            assert Decimal(figures.json()["area_km2"]) == Decimal("2.5")  # the replica's area version
            assert (await client.get(f"/api/v1/zones/{replica_only}", headers=leader)).status_code == 404
            elsewhere = await client.get(f"/api/v1/analytics/zones/{replica_only}?as_of=2018-10-31", headers=leader)
            assert elsewhere.status_code == 200
    finally:
        await replica.dispose()


async def test_without_a_replica_analytics_read_the_primary(
    client: httpx.AsyncClient, database: Database, make_user: UserFactory
) -> None:
    _, leader = await make_user(Role.leader)
    zone_id = await _zone(database, "P1", "0.37")
    figures = await client.get(f"/api/v1/analytics/zones/{zone_id}?as_of=2018-10-31", headers=leader)
    assert figures.status_code == 200
    assert Decimal(figures.json()["area_km2"]) == Decimal("0.37")


async def test_a_read_session_refuses_to_write_and_writes_nothing(database: Database) -> None:
    async with database.read_session() as session:
        session.add(Zone(code="W1", name="写入", kind=ZoneKind.cluster))
        with pytest.raises(ReadOnlySessionError):
            await session.flush()
    async with database.read_session() as session:
        with pytest.raises(ReadOnlySessionError):
            await session.execute(insert(Zone).values(code="W2", name="写入", kind=ZoneKind.cluster, version=1))
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Zone)) == 0
