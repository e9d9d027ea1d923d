"""Staff accounts: create, read, list, change with If-Match, audit trail."""

import httpx

from app.core.scopes import Role
from tests.conftest import DEFAULT_PASSWORD, UserFactory

NEW_USER = {"username": "Wang.Fang", "display_name": "王芳 🌸", "role": "officer", "password": DEFAULT_PASSWORD}


async def test_create_then_read_with_etag_and_location(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post("/api/v1/users", json=NEW_USER, headers=admin_headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["username"] == "wang.fang"  # logins are case-insensitive
    assert body["display_name"] == "王芳 🌸"
    assert body["version"] == 1
    assert "password" not in body and "password_hash" not in body
    assert created.headers["location"] == f"/api/v1/users/{body['id']}"
    assert created.headers["etag"] == '"1"'

    read = await client.get(created.headers["location"], headers=admin_headers)
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json() == body


async def test_duplicate_username_is_409_pointing_at_the_existing(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    first = (await client.post("/api/v1/users", json=NEW_USER, headers=admin_headers)).json()
    again = await client.post("/api/v1/users", json=NEW_USER | {"username": "WANG.FANG"}, headers=admin_headers)
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate"
    assert again.json()["existing_id"] == first["id"]


async def test_patch_needs_if_match_and_refuses_stale_versions(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = (await client.post("/api/v1/users", json=NEW_USER, headers=admin_headers)).json()
    url = f"/api/v1/users/{user['id']}"

    missing = await client.patch(url, json={"display_name": "王芳"}, headers=admin_headers)
    assert missing.status_code == 428
    assert missing.json()["code"] == "if_match_required"

    first = await client.patch(url, json={"display_name": "王芳"}, headers=admin_headers | {"If-Match": '"1"'})
    assert first.status_code == 200
    assert first.headers["etag"] == '"2"'

    # A second officer still holding version 1 must not overwrite the first one's change.
    stale = await client.patch(url, json={"display_name": "王小芳"}, headers=admin_headers | {"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"
    assert stale.json()["current_version"] == 2
    assert (await client.get(url, headers=admin_headers)).json()["display_name"] == "王芳"

    garbage = await client.patch(url, json={"display_name": "x"}, headers=admin_headers | {"If-Match": "yesterday"})
    assert garbage.status_code == 412


async def test_patch_refuses_nulls_and_unknown_fields(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    user = (await client.post("/api/v1/users", json=NEW_USER, headers=admin_headers)).json()
    url = f"/api/v1/users/{user['id']}"
    for body in ({"display_name": None}, {"is_admin": True}, {"version": 7}, {"password_hash": "x"}):
        response = await client.patch(url, json=body, headers=admin_headers | {"If-Match": "*"})
        assert response.status_code == 422, body
    assert (await client.get(url, headers=admin_headers)).json()["version"] == 1


async def test_password_reset_works_and_is_audited_without_the_hash(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = (await client.post("/api/v1/users", json=NEW_USER, headers=admin_headers)).json()
    new_password = "一二三四五六七八九十 long enough"
    reset = await client.patch(
        f"/api/v1/users/{user['id']}", json={"password": new_password}, headers=admin_headers | {"If-Match": '"1"'}
    )
    assert reset.status_code == 200
    login = await client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": "wang.fang", "password": new_password}
    )
    assert login.status_code == 200
    events = (
        await client.get(f"/api/v1/audit-events?entity_type=user&entity_id={user['id']}", headers=admin_headers)
    ).json()["items"]
    assert [e["action"] for e in events] == ["update", "create"]
    assert events[0]["after"] == {"password": "(changed)", "version": 2, "updated_at": events[0]["after"]["updated_at"]}
    assert "argon2" not in str(events)


async def test_admin_cannot_disable_or_demote_themselves(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    admin, headers = await make_user(Role.admin, username="solo-admin")
    for change in ({"is_active": False}, {"role": "viewer"}):
        response = await client.patch(f"/api/v1/users/{admin.id}", json=change, headers=headers | {"If-Match": "*"})
        assert response.status_code == 409
        assert response.json()["code"] == "self_lockout"


async def test_list_filters_sorts_and_pages(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, headers = await make_user(Role.admin, username="zz-admin")
    for name in ("carol", "alice", "bob"):
        await make_user(Role.officer, username=name)
    await make_user(Role.viewer, username="victor")

    officers = (await client.get("/api/v1/users?role=officer", headers=headers)).json()
    assert [u["username"] for u in officers["items"]] == ["alice", "bob", "carol"]
    assert officers["total"] == 3

    page = (await client.get("/api/v1/users?sort=-username&limit=2&offset=1", headers=headers)).json()
    assert [u["username"] for u in page["items"]] == ["victor", "carol"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)

    found = (await client.get("/api/v1/users?q=测试ALI", headers=headers)).json()
    assert [u["username"] for u in found["items"]] == ["alice"]


async def test_empty_list_reports_zero(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, headers = await make_user(Role.admin, username="lonely")
    response = await client.get("/api/v1/users?role=viewer", headers=headers)
    assert response.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


async def test_missing_user_is_404(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.get("/api/v1/users/424242", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
