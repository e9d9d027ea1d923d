"""Helpers for the service-desk tests: a department, a catalogue entry, an enterprise, a request, a step."""

from typing import Any

import httpx

from app.services.demo.registry import demo_uscc


async def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def department(
    client: httpx.AsyncClient, headers: dict[str, str], code: str = "fire", name: str = "区消防救援大队"
) -> dict[str, Any]:
    return await created(await client.post("/api/v1/departments", json={"code": code, "name": name}, headers=headers))


async def service_type(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    department_id: int,
    code: str = "fire_inspection",
    limit: int = 3,
    category: str = "enterprise",
) -> dict[str, Any]:
    body = {
        "code": code,
        "name": f"事项 {code}",
        "category": category,
        "department_id": department_id,
        "time_limit_working_days": limit,
    }
    return await created(await client.post("/api/v1/service-types", json=body, headers=headers))


async def enterprise(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {
        "uscc": demo_uscc(),
        "name": "广州示例服务测试有限公司",
        "registered_capital": "1000000.00",
        "industry_code": "64",
        "source": "new",
    } | fields
    return await created(await client.post("/api/v1/enterprises", json=body, headers=headers))


async def request(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    enterprise_id: int,
    type_id: int,
    received_at: str = "2018-09-28T10:00:00+08:00",
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "enterprise_id": enterprise_id,
        "service_type_id": type_id,
        "title": "二次消防验收咨询",
        "description": "企业希望尽快完成二次消防验收",
        "received_at": received_at,
    } | fields
    return await created(await client.post("/api/v1/service-requests", json=body, headers=headers))


async def step(
    client: httpx.AsyncClient, headers: dict[str, str], request: dict[str, Any], to_status: str, **fields: Any
) -> httpx.Response:
    """POSTs a transition with the request's current version; returns the response (check it yourself)."""
    return await client.post(
        f"/api/v1/service-requests/{request['id']}/transitions",
        json={"to_status": to_status} | fields,
        headers=headers | {"If-Match": f'"{request["version"]}"'},
    )


async def advance(
    client: httpx.AsyncClient, headers: dict[str, str], request: dict[str, Any], *steps: tuple[str, dict[str, Any]]
) -> dict[str, Any]:
    """Takes a request through several steps, each expected to succeed; returns the final state."""
    for to_status, fields in steps:
        response = await step(client, headers, request, to_status, **fields)
        assert response.status_code == 200, response.text
        request = response.json()
    return request
