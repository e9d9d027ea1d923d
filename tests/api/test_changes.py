"""Change feeds: resumable, complete (deletions, hand-overs), masked like GET, and exact under concurrency."""

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database
from app.core.principal import SYSTEM
from app.core.scopes import Role
from app.core.security import create_access_token, credential_fingerprint
from app.schemas.enterprise import EnterpriseCreate
from app.services import enterprises as enterprise_service
from tests.api.test_enterprises import body, create
from tests.conftest import UserFactory

Headers = dict[str, str]
FEED = "/api/v1/changes/enterprises"


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer)
    return headers


async def read_all(client: httpx.AsyncClient, headers: Headers, cursor: str | None = None, url: str = FEED) -> Any:
    """Pages until caught up: (the items in order, the last cursor)."""
    items: list[dict[str, Any]] = []
    for _ in range(2000):
        params: dict[str, Any] = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items, cursor
        if not page["items"]:
            await asyncio.sleep(0.01)  # held back behind an open transaction elsewhere on the server
    raise AssertionError("the feed never caught up")


def apply(mirror: dict[int, dict[str, Any]], items: list[dict[str, Any]]) -> None:
    for item in items:
        if item["deleted"]:
            mirror.pop(item["id"], None)
        else:
            mirror[item["id"]] = item["data"]


async def source(client: httpx.AsyncClient, headers: Headers) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    offset = 0
    while True:
        page = (
            await client.get("/api/v1/enterprises", params={"limit": 200, "offset": offset}, headers=headers)
        ).json()
        rows |= {e["id"]: e for e in page["items"]}
        offset += 200
        if offset >= page["total"]:
            return rows


async def test_creates_changes_and_deletes_arrive_in_order_and_resume(
    client: httpx.AsyncClient, officer: Headers
) -> None:
    items, cursor = await read_all(client, officer)
    assert items == []
    first = await create(client, officer, 1)
    second = await create(client, officer, 2)
    items, cursor = await read_all(client, officer, cursor)
    assert [(i["id"], i["deleted"]) for i in items] == [(first["id"], False), (second["id"], False)]
    assert items[0]["data"] == first

    patched = await client.patch(
        f"/api/v1/enterprises/{first['id']}", json={"name": "改名后的示例公司"}, headers=officer | {"If-Match": '"1"'}
    )
    assert patched.status_code == 200
    deleted = await client.delete(f"/api/v1/enterprises/{second['id']}", headers=officer | {"If-Match": '"1"'})
    assert deleted.status_code == 204
    items, cursor = await read_all(client, officer, cursor)
    assert items == [
        {"id": first["id"], "deleted": False, "data": patched.json()},
        {"id": second["id"], "deleted": True, "data": None},
    ]
    # Caught up: the same cursor gives nothing until something changes.
    again, same = await read_all(client, officer, cursor)
    assert (again, same) == ([], cursor)


async def test_a_row_changed_many_times_in_a_page_appears_once_with_its_latest_state(
    client: httpx.AsyncClient, officer: Headers
) -> None:
    created = await create(client, officer, 1)
    for version, name in enumerate(["一", "二", "三"], start=1):
        response = await client.patch(
            f"/api/v1/enterprises/{created['id']}",
            json={"name": f"示例公司{name}"},
            headers=officer | {"If-Match": f'"{version}"'},
        )
        assert response.status_code == 200
    page = (await client.get(FEED, headers=officer)).json()
    assert [(i["id"], i["data"]["name"]) for i in page["items"]] == [(created["id"], "示例公司三")]


async def test_a_hand_over_changes_the_enterprise_in_the_feed(
    client: httpx.AsyncClient, officer: Headers, make_user: UserFactory
) -> None:
    created = await create(client, officer, 1)
    _, cursor = await read_all(client, officer)
    cso, _ = await make_user(Role.officer)
    handed = await client.post(
        f"/api/v1/enterprises/{created['id']}/service-officers",
        json={"officer_id": cso.id, "role": "primary", "started_on": "2018-06-01"},
        headers=officer | {"If-Match": '"1"'},
    )
    assert handed.status_code == 201, handed.text
    items, _ = await read_all(client, officer, cursor)
    assert [(i["id"], i["data"]["service_officer_id"]) for i in items] == [(created["id"], cso.id)]


async def test_contacts_are_masked_for_a_viewer_as_in_get(
    client: httpx.AsyncClient, officer: Headers, make_user: UserFactory
) -> None:
    await create(client, officer, 1, contacts=[{"name": "张三丰", "phone": "13812345678"}])
    _, viewer = await make_user(Role.viewer)
    items, _ = await read_all(client, viewer)
    assert items[0]["data"]["contacts"] == [{"name": "张**", "phone": "138****5678", "position": None}]
    assert items[0]["data"]["contacts_masked"] is True


async def test_a_caller_without_the_resource_scope_is_refused(
    client: httpx.AsyncClient, make_user: UserFactory, settings: Settings
) -> None:
    user, _ = await make_user(Role.viewer)
    token, _ = create_access_token(
        settings, f"user:{user.id}", frozenset({"zones:read"}), credential_fingerprint(user.password_hash)
    )
    response = await client.get(FEED, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert (await client.get("/api/v1/changes/zones", headers={"Authorization": f"Bearer {token}"})).status_code == 200


@pytest.mark.parametrize("cursor", ["abc", "1", "1.2.3.4", "1.2.", "-1.5", "9" * 30 + ".1", "１.２"])
async def test_a_malformed_cursor_is_a_clear_problem(client: httpx.AsyncClient, officer: Headers, cursor: str) -> None:
    response = await client.get(FEED, params={"cursor": cursor}, headers=officer)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] in ("invalid_cursor", "validation_failed")


async def test_sensitive_kpi_facts_stay_out_of_an_uncleared_feed(
    client: httpx.AsyncClient, officer: Headers, make_user: UserFactory
) -> None:
    enterprise = await create(client, officer, 1)
    rows = [
        {"enterprise_id": enterprise["id"], "metric": metric, "period": "2018-01", "reported_as": "ytd", "value": "100"}
        for metric in ("revenue", "tax")
    ]
    stored = await client.post("/api/v1/kpi-facts/bulk", json={"rows": rows}, headers=officer)
    assert stored.status_code == 200, stored.text
    _, viewer = await make_user(Role.viewer)
    cleared, _ = await read_all(client, officer, url="/api/v1/changes/kpi_facts")
    uncleared, _ = await read_all(client, viewer, url="/api/v1/changes/kpi_facts")
    assert sorted(i["data"]["metric"] for i in cleared) == ["revenue", "tax"]
    assert [i["data"]["metric"] for i in uncleared] == ["revenue"]


async def test_a_mirror_built_from_the_feed_during_concurrent_writes_equals_the_source(
    client: httpx.AsyncClient, officer: Headers
) -> None:
    mirror: dict[int, dict[str, Any]] = {}
    cursor: str | None = None
    done = asyncio.Event()
    deletes = 0

    async def writer(worker: int) -> None:
        nonlocal deletes
        rng = random.Random(worker)  # each worker's own sequence: the same workload whatever the interleaving
        mine: list[dict[str, Any]] = []
        for n in range(12):
            action = rng.random()
            if mine and action < 0.25:
                deletes += 1
                target = mine.pop(rng.randrange(len(mine)))
                response = await client.delete(
                    f"/api/v1/enterprises/{target['id']}", headers=officer | {"If-Match": f'"{target["version"]}"'}
                )
                assert response.status_code == 204, response.text
            elif mine and action < 0.6:
                index = rng.randrange(len(mine))
                target = mine[index]
                response = await client.patch(
                    f"/api/v1/enterprises/{target['id']}",
                    json={"registered_capital": f"{rng.randrange(1, 10**9)}.{rng.randrange(100):02d}"},
                    headers=officer | {"If-Match": f'"{target["version"]}"'},
                )
                assert response.status_code == 200, response.text
                mine[index] = response.json()
            else:
                mine.append(await create(client, officer, worker * 100 + n))

    async def reader() -> None:
        nonlocal cursor
        while not done.is_set():
            items, cursor = await read_all(client, officer, cursor)
            apply(mirror, items)
            await asyncio.sleep(0)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(w) for w in range(1, 5)))
    done.set()
    await reading
    items, cursor = await read_all(client, officer, cursor)
    apply(mirror, items)
    expected = await source(client, officer)
    assert expected and deletes > 0
    assert mirror == expected


async def test_a_transaction_that_commits_late_is_not_skipped(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    """PostgreSQL assigns ids at insert, not commit: a feed by id alone would hand out a cursor past a row
    that commits later. The feed waits for older transactions instead."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: a later writer cannot commit first")
    _, cursor = await read_all(client, officer)
    async with database.sessionmaker() as slow:
        assert isinstance(slow, AsyncSession)
        await enterprise_service.create_enterprise(
            slow, SYSTEM, EnterpriseCreate.model_validate(body(1)), today=date(2018, 10, 31)
        )
        await slow.flush()  # the slow transaction now holds an older txid and a change row
        fast = await create(client, officer, 2)
        page = (await client.get(FEED, params={"cursor": cursor}, headers=officer)).json()
        # The fast commit waits behind the open transaction, and the page says more is coming.
        assert page == {"items": [], "next_cursor": cursor, "has_more": True}
        await slow.commit()
    items, _ = await read_all(client, officer, cursor)
    assert sorted(i["data"]["name"] for i in items) == sorted([body(1)["name"], fast["name"]])


async def test_compaction_keeps_one_change_per_row_and_forgotten_deletions_expire_old_cursors(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    from app.models import Change
    from app.services.change_feed import compact

    kept, patched, deleted = [await create(client, officer, n) for n in (1, 2, 3)]
    _, early = await read_all(client, officer)
    for version in (1, 2):
        await client.patch(
            f"/api/v1/enterprises/{patched['id']}",
            json={"name": f"改名{version}次的公司"},
            headers=officer | {"If-Match": f'"{version}"'},
        )
    gone = await client.delete(f"/api/v1/enterprises/{deleted['id']}", headers=officer | {"If-Match": '"1"'})
    assert gone.status_code == 204, gone.text

    async with database.session() as session:
        now = datetime.now(UTC)
        result = await compact(session, forget_deletions_before=now - timedelta(days=90))
    assert (result.superseded, result.tombstones) == (3, 0)  # patched: create + first patch; deleted: create
    async with database.session() as session:
        count = select(func.count()).select_from(Change).where(Change.resource == "enterprises")
        assert await session.scalar(count) == 3
    items, _ = await read_all(client, officer, early)  # an old cursor still sees what happened since
    assert sorted((i["id"], i["deleted"]) for i in items) == [(patched["id"], False), (deleted["id"], True)]

    async with database.session() as session:
        result = await compact(session, forget_deletions_before=datetime.now(UTC) + timedelta(seconds=1))
    assert result.tombstones == 1
    expired = await client.get(FEED, params={"cursor": early}, headers=officer)
    assert expired.status_code == 410 and expired.json()["code"] == "cursor_expired"
    rebuilt: dict[int, dict[str, Any]] = {}
    items, latest = await read_all(client, officer)  # from the start, the mirror is whole again
    apply(rebuilt, items)
    assert rebuilt == await source(client, officer)
    assert sorted(rebuilt) == [kept["id"], patched["id"]]
    assert (await client.get(FEED, params={"cursor": latest}, headers=officer)).status_code == 200
