"""API clients of district systems: created with a one-time secret, re-scoped, disabled, audited."""

import httpx

from app.core.scopes import Role
from tests.conftest import UserFactory


async def test_create_shows_the_secret_once(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    created = await client.post(
        "/api/v1/clients", json={"name": "区税务局", "scopes": ["users:read", "audit:read"]}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["client_id"].startswith("zs_")
    assert len(body["client_secret"]) >= 40
    assert body["scopes"] == ["audit:read", "users:read"]

    read = await client.get(f"/api/v1/clients/{body['id']}", headers=admin_headers)
    assert "client_secret" not in read.json()
    assert "secret_hash" not in read.text
    listed = await client.get("/api/v1/clients", headers=admin_headers)
    assert body["client_secret"] not in listed.text


async def test_unknown_scopes_are_refused(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/clients", json={"name": "x", "scopes": ["users:read", "nukes:launch"]}, headers=admin_headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_scope"
    assert response.json()["errors"][0]["loc"] == ["body", "scopes"]
    assert (await client.get("/api/v1/clients", headers=admin_headers)).json()["total"] == 0


async def test_rescope_and_disable_with_if_match(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    created = (
        await client.post("/api/v1/clients", json={"name": "统计局", "scopes": ["users:read"]}, headers=admin_headers)
    ).json()
    url = f"/api/v1/clients/{created['id']}"
    grant = {
        "grant_type": "client_credentials",
        "client_id": created["client_id"],
        "client_secret": created["client_secret"],
    }
    token = (await client.post("/api/v1/auth/token", data=grant)).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/users", headers=bearer)).status_code == 200

    narrowed = await client.patch(url, json={"scopes": ["audit:read"]}, headers=admin_headers | {"If-Match": '"1"'})
    assert narrowed.status_code == 200
    assert narrowed.json()["scopes"] == ["audit:read"]
    # The live token loses what the client no longer holds.
    assert (await client.get("/api/v1/users", headers=bearer)).status_code == 403

    disabled = await client.patch(url, json={"is_active": False}, headers=admin_headers | {"If-Match": '"2"'})
    assert disabled.status_code == 200
    assert (await client.post("/api/v1/auth/token", data=grant)).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=bearer)).status_code == 401

    stale = await client.patch(url, json={"name": "x"}, headers=admin_headers | {"If-Match": '"1"'})
    assert stale.status_code == 412


async def test_leader_reads_clients_but_cannot_create(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, headers = await make_user(Role.leader)
    assert (await client.get("/api/v1/clients", headers=headers)).status_code == 200
    response = await client.post("/api/v1/clients", json={"name": "x", "scopes": ["users:read"]}, headers=headers)
    assert response.status_code == 403


async def test_every_write_is_in_the_audit_trail(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    admin, headers = await make_user(Role.admin, username="auditor")
    created = (
        await client.post(
            "/api/v1/clients",
            json={"name": "统计局", "scopes": ["users:read"]},
            headers=headers | {"X-Request-ID": "req-create-1"},
        )
    ).json()
    await client.post(f"/api/v1/clients/{created['id']}/rotate-secret", headers=headers | {"If-Match": '"1"'})

    trail = await client.get(f"/api/v1/audit-events?entity_type=api_client&entity_id={created['id']}", headers=headers)
    events = trail.json()["items"]
    assert [e["action"] for e in events] == ["rotate_secret", "create"]
    create = events[1]
    assert create["actor_type"] == "user" and create["actor_id"] == admin.id and create["actor_name"] == "auditor"
    assert create["request_id"] == "req-create-1"
    assert create["before"] is None
    assert create["after"]["name"] == "统计局"
    assert "secret_hash" not in create["after"]
    assert {"updated_at", "version"} <= set(events[0]["after"]) <= {"secret_rotated_at", "updated_at", "version"}

    by_request = await client.get("/api/v1/audit-events?request_id=req-create-1", headers=headers)
    assert by_request.json()["total"] == 1


async def test_audit_log_is_for_those_cleared_to_read_it(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, officer = await make_user(Role.officer)
    assert (await client.get("/api/v1/audit-events", headers=officer)).status_code == 403
    _, leader = await make_user(Role.leader)
    assert (await client.get("/api/v1/audit-events", headers=leader)).status_code == 200


async def test_audit_time_filters_need_an_offset(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    naive = await client.get("/api/v1/audit-events?occurred_from=2018-10-31T23:30:00", headers=admin_headers)
    assert naive.status_code == 422
    aware = await client.get("/api/v1/audit-events?occurred_from=2018-10-31T23:30:00%2B08:00", headers=admin_headers)
    assert aware.status_code == 200


async def test_audit_snapshots_respect_clearances(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # Found in a bad-input hunt: an audit:read-only client read code-named projects' real names.
    await client.post(
        "/api/v1/projects",
        json={"name": "某世界500强华南总部项目", "code_name": "珠江一号", "introduced_on": "2018-01-01"},
        headers=admin_headers,
    )
    registered = (
        await client.post("/api/v1/clients", json={"name": "审计只读", "scopes": ["audit:read"]}, headers=admin_headers)
    ).json()
    token = (
        await client.post(
            "/api/v1/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": registered["client_id"],
                "client_secret": registered["client_secret"],
            },
        )
    ).json()["access_token"]
    trail = await client.get("/api/v1/audit-events?entity_type=project", headers={"Authorization": f"Bearer {token}"})
    assert trail.status_code == 200
    assert "500强" not in trail.text
    assert trail.json()["items"][0]["after"]["name"] == "***"
    assert trail.json()["items"][0]["after"]["code_name"] == "珠江一号"
    admin_view = await client.get("/api/v1/audit-events?entity_type=project", headers=admin_headers)
    assert admin_view.json()["items"][0]["after"]["name"] == "某世界500强华南总部项目"
