"""Talent services: personal data masked and kept out of logs, apartments without overlaps, applications once."""

import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.core.db import Database
from app.core.logging import JsonFormatter
from app.core.scopes import Role
from tests.api.desk import created, enterprise
from tests.conftest import UserFactory

TALENTS = "/api/v1/talents"
APARTMENTS = "/api/v1/talent-apartments"
NATIONAL_ID = "440105199003070013"
PHONE = "13800001234"


async def _talent(
    client: httpx.AsyncClient, headers: dict[str, str], enterprise_id: int, **fields: Any
) -> dict[str, Any]:
    body = {"name": "陈示例", "enterprise_id": enterprise_id, "role": "senior_executive", "position": "副总裁"} | fields
    return await created(await client.post(TALENTS, json=body, headers=headers))


async def _client_headers(client: httpx.AsyncClient, admin: dict[str, str], scopes: list[str]) -> dict[str, str]:
    registered = (
        await client.post("/api/v1/clients", json={"name": "区人社局", "scopes": scopes}, headers=admin)
    ).json()
    grant = {
        "grant_type": "client_credentials",
        "client_id": registered["client_id"],
        "client_secret": registered["client_secret"],
    }
    token = (await client.post("/api/v1/auth/token", data=grant)).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def test_personal_data_is_masked_without_clearance(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str]
) -> None:
    _, officer = await make_user(Role.officer)
    _, viewer = await make_user(Role.viewer)
    company = await enterprise(client, officer)
    person = await _talent(client, officer, company["id"], national_id=NATIONAL_ID.lower(), phone=PHONE)
    assert (person["national_id"], person["phone"], person["personal_data_masked"]) == (NATIONAL_ID, PHONE, False)

    seen = (await client.get(f"{TALENTS}/{person['id']}", headers=viewer)).json()
    assert (seen["national_id"], seen["phone"], seen["personal_data_masked"]) == (
        "44************0013",
        "138****1234",
        True,
    )
    listed = (await client.get(TALENTS, headers=viewer)).json()
    assert NATIONAL_ID not in str(listed) and PHONE not in str(listed)
    # Searching by the number would confirm it: only for cleared callers.
    probe = await client.get(TALENTS, params={"national_id": NATIONAL_ID}, headers=viewer)
    assert (probe.status_code, probe.json()["code"]) == (403, "insufficient_scope")
    found = (await client.get(TALENTS, params={"national_id": NATIONAL_ID}, headers=officer)).json()
    assert [p["id"] for p in found["items"]] == [person["id"]]

    # A district system that may write talents but not see personal data may not send it either.
    system = await _client_headers(client, admin_headers, ["talents:read", "talents:write"])
    blind = await client.post(
        TALENTS,
        json={"name": "王示例", "enterprise_id": company["id"], "role": "other", "phone": "13800005678"},
        headers=system,
    )
    assert (blind.status_code, blind.json()["code"]) == (403, "insufficient_scope")
    plain = await client.post(
        TALENTS, json={"name": "王示例", "enterprise_id": company["id"], "role": "other"}, headers=system
    )
    assert plain.status_code == 201
    assert (await client.get(f"{TALENTS}/{person['id']}", headers=system)).json()["national_id"] == "44************0013"

    # The audit trail records that the number was set, never the number.
    trail = (
        await client.get(
            "/api/v1/audit-events",
            params={"entity_type": "talent", "entity_id": str(person["id"])},
            headers=admin_headers,
        )
    ).json()
    assert NATIONAL_ID not in str(trail) and PHONE not in str(trail)
    assert trail["items"][0]["after"]["national_id"] == "44************0013"


async def test_bad_numbers_and_duplicates(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, officer = await make_user(Role.officer)
    company = await enterprise(client, officer)
    wrong_check = NATIONAL_ID[:-1] + "4"
    for number in (wrong_check, "11010519490231002X", "44010519900307001", "4401051990030700１3", "44010520990307001X"):
        response = await client.post(
            TALENTS,
            json={"name": "陈示例", "enterprise_id": company["id"], "role": "other", "national_id": number},
            headers=officer,
        )
        assert (response.status_code, response.json()["code"]) == (422, "validation_failed"), number
        assert response.json()["errors"][0]["loc"] == ["body", "national_id"]
        assert number not in response.text  # the answer never echoes the number
    first = await _talent(client, officer, company["id"], national_id=NATIONAL_ID)
    twin = await client.post(
        TALENTS,
        json={"name": "另一人", "enterprise_id": company["id"], "role": "other", "national_id": NATIONAL_ID},
        headers=officer,
    )
    assert (twin.status_code, twin.json()["code"]) == (409, "duplicate")
    assert str(first["id"]) not in twin.json()["detail"]
    erased = await client.patch(
        f"{TALENTS}/{first['id']}", json={"national_id": None, "phone": None}, headers=officer | {"If-Match": '"1"'}
    )
    assert (erased.status_code, erased.json()["national_id"]) == (200, None)
    assert (await client.get(TALENTS, headers=officer)).json()["total"] == 1


async def test_personal_data_never_reaches_the_logs(
    client: httpx.AsyncClient, make_user: UserFactory, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, officer = await make_user(Role.officer)
    _, viewer = await make_user(Role.viewer)
    company = await enterprise(client, officer)
    person = await _talent(client, officer, company["id"], national_id=NATIONAL_ID, phone=PHONE)
    await client.get(f"{TALENTS}/{person['id']}", headers=officer)
    await client.get(TALENTS, params={"national_id": NATIONAL_ID}, headers=officer)
    await client.get(TALENTS, params={"national_id": NATIONAL_ID}, headers=viewer)
    await client.post(
        TALENTS,
        json={"name": "x", "enterprise_id": company["id"], "role": "other", "national_id": NATIONAL_ID},
        headers=officer,
    )
    await client.post(
        TALENTS,
        json={"name": "x", "enterprise_id": company["id"], "role": "other", "national_id": NATIONAL_ID[:-1] + "4"},
        headers=officer,
    )
    await client.patch(
        f"{TALENTS}/{person['id']}", json={"phone": "13800009999"}, headers=officer | {"If-Match": '"1"'}
    )
    # A duplicate that slips past the service's check fails in the database: its error hides the values.
    with pytest.raises(IntegrityError) as caught:
        async with database.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO talent_persons (name, enterprise_id, role, national_id, version, created_at, "
                    "updated_at) VALUES ('y', :e, 'other', :n, 1, '2018-01-01 00:00:00', '2018-01-01 00:00:00')"
                ),
                {"e": company["id"], "n": NATIONAL_ID},
            )
    logging.getLogger("app.errors").warning("integrity error answered with 409", exc_info=caught.value)
    assert NATIONAL_ID not in str(caught.value)

    formatter = JsonFormatter()
    # The test client's own logger (httpx) prints the URLs it requests; the service's loggers are what count.
    written = "\n".join(formatter.format(r) for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "/api/v1/talents" in written
    for secret in (NATIONAL_ID, PHONE, "13800009999", NATIONAL_ID[6:14]):
        assert secret not in written


async def test_apartment_allocations_never_overlap(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, officer = await make_user(Role.officer)
    company = await enterprise(client, officer)
    batch = await created(
        await client.post(
            f"{APARTMENTS}/batches",
            json={
                "code": "batch_2018_1",
                "name": "2018年第一批人才公寓",
                "supplied_on": "2018-01-02",
                "source": "国有物业存量房源",
            },
            headers=officer,
        )
    )
    unit = await created(
        await client.post(
            f"{APARTMENTS}/units",
            json={"batch_id": batch["id"], "code": "A-101", "address": "琶洲示例楼A座101"},
            headers=officer,
        )
    )
    spare = await created(
        await client.post(
            f"{APARTMENTS}/units",
            json={"batch_id": batch["id"], "code": "A-102", "address": "琶洲示例楼A座102"},
            headers=officer,
        )
    )
    chen = await _talent(client, officer, company["id"])
    li = await _talent(client, officer, company["id"], name="李示例")

    async def allocate(**fields: Any) -> httpx.Response:
        body = {"unit_id": unit["id"], "person_id": chen["id"], "start_on": "2018-01-08", "rent_free": True} | fields
        return await client.post(f"{APARTMENTS}/allocations", json=body, headers=officer)

    first = await created(await allocate(end_on="2018-08-31"))
    assert (first["enterprise_id"], first["status"]) == (company["id"], "ended")
    for fields in (
        {"person_id": li["id"], "start_on": "2018-08-31"},
        {"person_id": li["id"], "start_on": "2018-03-01", "end_on": "2018-03-31"},
    ):
        clash = await allocate(**fields)
        assert (clash.status_code, clash.json()["code"], clash.json()["conflicting_id"]) == (
            409,
            "allocation_overlap",
            first["id"],
        ), fields
    same_person = await allocate(unit_id=spare["id"], start_on="2018-05-01")
    assert (same_person.status_code, same_person.json()["code"]) == (409, "allocation_overlap")
    # Back to back is fine: the first tenant's last day is 31 August.
    second = await created(await allocate(person_id=li["id"], start_on="2018-09-01"))
    for bad in (
        {"rent_free": False},
        {"rent_free": True, "monthly_rent": "100.00"},
        {"end_on": "2018-01-01"},
        {"rent_free": "yes"},
    ):
        response = await allocate(unit_id=spare["id"], person_id=li["id"], start_on="2019-01-01", **bad)
        assert response.status_code == 422, bad
    extend = await client.patch(
        f"{APARTMENTS}/allocations/{first['id']}", json={"end_on": None}, headers=officer | {"If-Match": '"1"'}
    )
    assert (extend.status_code, extend.json()["code"]) == (409, "allocation_overlap")

    vacant = (await client.get(f"{APARTMENTS}/units", params={"vacant_on": "2018-08-31"}, headers=officer)).json()
    assert [u["code"] for u in vacant["items"]] == ["A-102"]
    on_day = (await client.get(f"{APARTMENTS}/allocations", params={"on": "2018-09-01"}, headers=officer)).json()
    assert [a["id"] for a in on_day["items"]] == [second["id"]]


async def test_applications_are_decided_once(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, officer = await make_user(Role.officer)
    company = await enterprise(client, officer)
    person = await _talent(client, officer, company["id"])
    url = "/api/v1/household-registrations"
    application = await created(
        await client.post(url, json={"person_id": person["id"], "applied_on": "2018-03-01"}, headers=officer)
    )
    assert (application["status"], application["enterprise_id"]) == ("submitted", company["id"])
    again = await client.post(url, json={"person_id": person["id"], "applied_on": "2018-03-02"}, headers=officer)
    assert (again.status_code, again.json()["code"]) == (409, "duplicate")
    future = await client.post(url, json={"person_id": person["id"], "applied_on": "2099-03-02"}, headers=officer)
    assert future.status_code == 422
    decide = f"{url}/{application['id']}/decision"
    early = await client.post(
        decide, json={"outcome": "approved", "decided_on": "2018-02-01"}, headers=officer | {"If-Match": '"1"'}
    )
    assert (early.status_code, early.json()["code"]) == (422, "date_order")
    nonsense = await client.post(
        decide, json={"outcome": "submitted", "decided_on": "2018-04-01"}, headers=officer | {"If-Match": '"1"'}
    )
    assert nonsense.status_code == 422
    approved = await client.post(
        decide, json={"outcome": "approved", "decided_on": "2018-04-10"}, headers=officer | {"If-Match": '"1"'}
    )
    assert (approved.status_code, approved.json()["status"], approved.json()["decided_on"]) == (
        200,
        "approved",
        "2018-04-10",
    )
    twice = await client.post(
        decide, json={"outcome": "rejected", "decided_on": "2018-04-11"}, headers=officer | {"If-Match": '"2"'}
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "already_decided")

    cards = "/api/v1/talent-green-cards"
    card = await created(
        await client.post(cards, json={"person_id": person["id"], "applied_on": "2018-05-02"}, headers=officer)
    )
    rejected_with_number = await client.post(
        f"{cards}/{card['id']}/decision",
        json={"outcome": "rejected", "decided_on": "2018-05-20", "card_number": "X1"},
        headers=officer | {"If-Match": '"1"'},
    )
    assert rejected_with_number.status_code == 422
    issued = await client.post(
        f"{cards}/{card['id']}/decision",
        json={
            "outcome": "approved",
            "decided_on": "2018-05-20",
            "card_number": "GZRC-0001",
            "expires_on": "2023-05-19",
        },
        headers=officer | {"If-Match": '"1"'},
    )
    assert (issued.status_code, issued.json()["card_number"]) == (200, "GZRC-0001")
    # A new card may be applied for once the old one has expired.
    renewal = await client.post(cards, json={"person_id": person["id"], "applied_on": "2023-06-01"}, headers=officer)
    assert renewal.status_code == 201
    person_gone = await client.delete(f"{TALENTS}/{person['id']}", headers=officer | {"If-Match": '"1"'})
    assert (person_gone.status_code, person_gone.json()["code"]) == (409, "talent_in_use")


async def test_talent_statistics_count_distinct_persons_and_enterprises(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    _, officer = await make_user(Role.officer)
    _, leader = await make_user(Role.leader)
    fortune = await enterprise(
        client, officer, investor_classes=[{"investor_class": "fortune_global_500", "list_year": 2018}]
    )
    local = await enterprise(client, officer)
    batch = await created(
        await client.post(
            f"{APARTMENTS}/batches",
            json={"code": "b1", "name": "第一批", "supplied_on": "2018-01-02", "source": "国有物业存量房源"},
            headers=officer,
        )
    )
    units = [
        await created(
            await client.post(
                f"{APARTMENTS}/units",
                json={"batch_id": batch["id"], "code": f"U{n}", "address": f"示例{n}"},
                headers=officer,
            )
        )
        for n in range(4)
    ]
    people = [await _talent(client, officer, (fortune if n < 2 else local)["id"], name=f"人才{n}") for n in range(4)]
    plans = [
        (units[0], people[0], "2018-01-08", None, True),
        (units[1], people[1], "2018-01-08", "2018-08-31", True),  # moved out before the day asked about
        (units[2], people[2], "2018-01-08", None, True),
        (units[3], people[3], "2018-01-08", None, False),  # pays a rent
    ]
    for unit, person, start, end, free in plans:
        body = {"unit_id": unit["id"], "person_id": person["id"], "start_on": start, "end_on": end, "rent_free": free}
        if not free:
            body["monthly_rent"] = "1500.00"
        await created(await client.post(f"{APARTMENTS}/allocations", json=body, headers=officer))
    for n, person in enumerate(people):
        card = await created(
            await client.post(
                "/api/v1/talent-green-cards",
                json={"person_id": person["id"], "applied_on": "2018-03-01"},
                headers=officer,
            )
        )
        outcome = "approved" if n != 3 else "rejected"
        decided = await client.post(
            f"/api/v1/talent-green-cards/{card['id']}/decision",
            json={"outcome": outcome, "decided_on": "2018-04-02" if n else "2017-12-29"},
            headers=officer | {"If-Match": '"1"'},
        )
        assert decided.status_code in (200, 422)  # a decision before the application is refused (n = 0)

    response = await client.get(
        "/api/v1/analytics/talent-services",
        params={"period_from": "2018-01-01", "period_to": "2018-12-31", "as_of": "2018-10-31"},
        headers=leader,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    apartments = body["apartments"]
    assert (apartments["persons"], apartments["enterprises"], apartments["units_occupied"]) == (3, 2, 3)
    assert (
        apartments["rent_free_persons"],
        apartments["rent_free_enterprises"],
        apartments["allocations_started"],
    ) == (2, 2, 4)
    cards = body["green_cards"]
    assert (cards["submitted"], cards["approved"], cards["approved_persons"], cards["approved_enterprises"]) == (
        4,
        2,
        2,
        2,
    )
    assert (cards["rejected"], cards["pending"], cards["approved_fortune_global_500_enterprises"]) == (1, 1, 1)
    assert (cards["approved_fortune_global_500_executives"], cards["approved_senior_executives"]) == (1, 2)


async def test_apartments_and_cards_refuse_what_cannot_be(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str]
) -> None:
    _, officer = await make_user(Role.officer)
    company = await enterprise(client, officer)
    future = await client.post(
        f"{APARTMENTS}/batches",
        json={"code": "b_future", "name": "将来的房源", "supplied_on": "2099-01-01", "source": "国有物业存量房源"},
        headers=officer,
    )
    assert (future.status_code, future.json()["code"]) == (422, "date_in_future")
    batch = await created(
        await client.post(
            f"{APARTMENTS}/batches",
            json={"code": "b1", "name": "第一批", "supplied_on": "2018-06-01", "source": "国有物业存量房源"},
            headers=officer,
        )
    )
    unit = await created(
        await client.post(
            f"{APARTMENTS}/units", json={"batch_id": batch["id"], "code": "a-101", "address": "示例"}, headers=officer
        )
    )
    assert unit["code"] == "A-101"
    twin = await client.post(
        f"{APARTMENTS}/units", json={"batch_id": batch["id"], "code": "A-101", "address": "示例"}, headers=officer
    )
    assert (twin.status_code, twin.json()["code"]) == (409, "duplicate")
    person = await _talent(client, officer, company["id"], phone="13800001234")
    base = {"unit_id": unit["id"], "person_id": person["id"], "start_on": "2018-07-01", "rent_free": True}
    for change, code in (
        ({"enterprise_id": 424242}, "unknown_reference"),  # used to be a generic 409 from the database
        ({"start_on": "2018-05-01"}, "date_order"),  # before the batch was supplied
        ({"monthly_rent": "0"}, "validation_failed"),  # rent-free means no rent, not a rent of 0
    ):
        response = await client.post(f"{APARTMENTS}/allocations", json=base | change, headers=officer)
        assert (response.status_code, response.json()["code"]) == (422, code), change
    allocated = await created(await client.post(f"{APARTMENTS}/allocations", json=base, headers=officer))
    later_supply = await client.patch(
        f"{APARTMENTS}/batches/{batch['id']}", json={"supplied_on": "2018-08-01"}, headers=officer | {"If-Match": '"1"'}
    )
    assert (later_supply.status_code, later_supply.json()["code"]) == (422, "date_order")
    del allocated

    cards = "/api/v1/talent-green-cards"
    other = await _talent(client, officer, company["id"], name="李示例")
    numbers = []
    for holder in (person, other):
        card = await created(
            await client.post(cards, json={"person_id": holder["id"], "applied_on": "2018-05-02"}, headers=officer)
        )
        numbers.append(
            await client.post(
                f"{cards}/{card['id']}/decision",
                json={"outcome": "approved", "decided_on": "2018-05-20", "card_number": "GZRC-0001"},
                headers=officer | {"If-Match": '"1"'},
            )
        )
    assert numbers[0].status_code == 200
    assert (numbers[1].status_code, numbers[1].json()["code"]) == (409, "duplicate")

    # A new phone masked like the old one still leaves a trace of the change (never of the number).
    changed = await client.patch(
        f"{TALENTS}/{person['id']}", json={"phone": "13899991234"}, headers=officer | {"If-Match": '"1"'}
    )
    assert changed.status_code == 200
    trail = (
        await client.get(
            "/api/v1/audit-events",
            params={"entity_type": "talent", "entity_id": str(person["id"])},
            headers=admin_headers,
        )
    ).json()["items"]
    assert trail[0]["after"]["personal_data_changed"] == ["phone"]
    assert "13899991234" not in str(trail)
