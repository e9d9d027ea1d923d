"""Every resource's change feed mirrors its list, and changes that show in another resource's read model
(a decision in its meeting's count, a meeting's date in its decisions) reach that resource's feed too."""

from typing import Any

import httpx
import pytest

from app.api.v1.changes import FEEDS
from app.core.scopes import Role
from app.models import CHANGE_RESOURCES
from tests.api.test_changes import apply, read_all
from tests.api.test_enterprises import create
from tests.conftest import UserFactory

Headers = dict[str, str]

# The list endpoint that shows the same read models as each feed (milestones are listed per project).
LISTS = {
    "enterprises": "/api/v1/enterprises",
    "zones": "/api/v1/zones",
    "land_parcels": "/api/v1/land-parcels",
    "projects": "/api/v1/projects",
    "kpi_facts": "/api/v1/kpi-facts",
    "departments": "/api/v1/departments",
    "service_types": "/api/v1/service-types",
    "service_requests": "/api/v1/service-requests",
    "visits": "/api/v1/visits",
    "consultation_events": "/api/v1/consultation-events",
    "talents": "/api/v1/talents",
    "apartment_batches": "/api/v1/talent-apartments/batches",
    "apartment_units": "/api/v1/talent-apartments/units",
    "apartment_allocations": "/api/v1/talent-apartments/allocations",
    "household_registrations": "/api/v1/household-registrations",
    "talent_green_cards": "/api/v1/talent-green-cards",
    "disclosure_items": "/api/v1/disclosures",
    "disclosure_requests": "/api/v1/disclosure-requests",
    "disclosure_remedies": "/api/v1/disclosure-remedies",
    "meetings": "/api/v1/meetings",
    "major_decisions": "/api/v1/major-decisions",
}


# Listed per parent (a project's milestones and escalations, a zone's area versions, an enterprise's team) or
# without paging (metrics, templates): the demo-data mirror below is compared with these.
PER_PARENT = {
    "milestones",
    "escalations",
    "zone_area_versions",
    "service_officer_assignments",
    "metrics",
    "milestone_templates",
}


def test_every_logged_resource_has_a_feed_and_a_list_to_check_it_against() -> None:
    assert {f.resource for f in FEEDS} == CHANGE_RESOURCES
    assert set(LISTS) == CHANGE_RESOURCES - PER_PARENT


async def listed(client: httpx.AsyncClient, headers: Headers, url: str) -> dict[int, Any]:
    rows: dict[int, Any] = {}
    offset = 0
    while True:
        response = await client.get(url, params={"limit": 200, "offset": offset}, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        rows |= {item["id"]: item for item in page["items"]}
        offset += 200
        if offset >= page["total"]:
            return rows


@pytest.mark.parametrize("resource", sorted(LISTS))
async def test_a_mirror_of_the_demo_data_from_the_feed_alone_equals_the_list(
    client: httpx.AsyncClient, demo_leader: Headers, resource: str
) -> None:
    source = await listed(client, demo_leader, LISTS[resource])
    assert source, f"the demo data has no {resource}"
    items, _ = await read_all(client, demo_leader, url=f"/api/v1/changes/{resource}")
    mirror: dict[int, Any] = {}
    apply(mirror, items)
    assert mirror == source


async def unpaged(client: httpx.AsyncClient, headers: Headers, url: str) -> dict[int, Any]:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()}


async def test_the_per_parent_feeds_mirror_their_lists_too(client: httpx.AsyncClient, demo_leader: Headers) -> None:
    async def mirror(resource: str) -> dict[int, Any]:
        items, _ = await read_all(client, demo_leader, url=f"/api/v1/changes/{resource}")
        rows: dict[int, Any] = {}
        apply(rows, items)
        return rows

    assert await mirror("metrics") == await unpaged(client, demo_leader, "/api/v1/metrics")
    assert await mirror("milestone_templates") == await unpaged(client, demo_leader, "/api/v1/milestone-templates")
    projects = await listed(client, demo_leader, "/api/v1/projects")
    milestones: dict[int, Any] = {}
    escalations: dict[int, Any] = {}
    for project_id in projects:
        milestones |= await unpaged(client, demo_leader, f"/api/v1/projects/{project_id}/milestones")
        escalations |= await unpaged(client, demo_leader, f"/api/v1/projects/{project_id}/escalations")
    assert milestones and await mirror("milestones") == milestones
    assert await mirror("escalations") == escalations
    areas: dict[int, Any] = {}
    for zone in (await listed(client, demo_leader, "/api/v1/zones")).values():
        if zone["kind"] != "cluster":
            areas |= await unpaged(client, demo_leader, f"/api/v1/zones/{zone['id']}/area-versions")
    assert areas and await mirror("zone_area_versions") == areas
    teams: dict[int, Any] = {}
    for enterprise_id in await listed(client, demo_leader, "/api/v1/enterprises"):
        teams |= await unpaged(client, demo_leader, f"/api/v1/enterprises/{enterprise_id}/service-officers/history")
    assert teams and await mirror("service_officer_assignments") == teams


async def feed(client: httpx.AsyncClient, headers: Headers, resource: str, cursor: str | None) -> list[Any]:
    items, _ = await read_all(client, headers, cursor, url=f"/api/v1/changes/{resource}")
    return list(items)


async def cursor_now(client: httpx.AsyncClient, headers: Headers, resource: str) -> str:
    _, cursor = await read_all(client, headers, url=f"/api/v1/changes/{resource}")
    return str(cursor)


async def test_changes_that_show_elsewhere_reach_that_feed(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    meeting = await client.post(
        "/api/v1/meetings",
        json={"kind": "office_meeting", "held_on": "2018-09-03", "title": "主任办公会（示例）"},
        headers=admin_headers,
    )
    assert meeting.status_code == 201, meeting.text
    meeting_id = meeting.json()["id"]
    at_meetings = await cursor_now(client, admin_headers, "meetings")
    decision = await client.post(
        "/api/v1/major-decisions",
        json={"kind": "major_matter", "title": "研究招商引资政策", "meeting_id": meeting_id},
        headers=admin_headers,
    )
    assert decision.status_code == 201, decision.text
    decision_id = decision.json()["id"]
    changed = await feed(client, admin_headers, "meetings", at_meetings)
    assert [(i["id"], i["data"]["decisions"]) for i in changed] == [(meeting_id, 1)]

    at_decisions = await cursor_now(client, admin_headers, "major_decisions")
    redated = await client.patch(
        f"/api/v1/meetings/{meeting_id}", json={"held_on": "2018-09-04"}, headers=admin_headers | {"If-Match": "*"}
    )
    assert redated.status_code == 200, redated.text
    changed = await feed(client, admin_headers, "major_decisions", at_decisions)
    assert [(i["id"], i["data"]["decided_on"]) for i in changed] == [(decision_id, "2018-09-04")]


async def test_deleting_a_zone_or_an_enterprise_tells_the_feeds_of_what_went_with_it(
    client: httpx.AsyncClient, admin_headers: Headers, make_user: UserFactory
) -> None:
    leaf = await client.post(
        "/api/v1/zones", json={"code": "TMP", "name": "临时区域", "kind": "core"}, headers=admin_headers
    )
    assert leaf.status_code == 201, leaf.text
    zone_id = leaf.json()["id"]
    area = await client.post(
        f"/api/v1/zones/{zone_id}/area-versions",
        json={"area_km2": "0.20", "effective_from": "2015-01-01"},
        headers=admin_headers,
    )
    assert area.status_code == 201, area.text
    at_areas = await cursor_now(client, admin_headers, "zone_area_versions")
    gone = await client.delete(f"/api/v1/zones/{zone_id}", headers=admin_headers | {"If-Match": "*"})
    assert gone.status_code == 204, gone.text
    changed = await feed(client, admin_headers, "zone_area_versions", at_areas)
    assert [(i["id"], i["deleted"]) for i in changed] == [(area.json()["id"], True)]

    officer, _ = await make_user(Role.officer)
    created = await create(client, admin_headers, 1, service_officer_id=officer.id)
    at_teams = await cursor_now(client, admin_headers, "service_officer_assignments")
    [post] = (await feed(client, admin_headers, "service_officer_assignments", None))[-1:]
    removed = await client.delete(f"/api/v1/enterprises/{created['id']}", headers=admin_headers | {"If-Match": "*"})
    assert removed.status_code == 204, removed.text
    changed = await feed(client, admin_headers, "service_officer_assignments", at_teams)
    assert [(i["id"], i["deleted"]) for i in changed] == [(post["id"], True)]
