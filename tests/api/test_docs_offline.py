"""The docs pages load every asset from the app itself: government intranets have no internet."""

import re
from typing import Any

import httpx
import pytest

ASSET = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""")


def _assets(html: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in ASSET.finditer(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_reference_only_their_own_origin(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assets = _assets(response.text)
    assert any(a.endswith(".js") for a in assets), assets
    assert "/openapi.json" in assets
    external = [a for a in assets if "://" in a or a.startswith("//")]
    assert external == []
    for asset in assets:
        fetched = await client.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 0


def test_openapi_describes_the_service_in_chinese_and_english(app: Any) -> None:
    spec = app.openapi()
    description = spec["info"]["description"]
    assert "招商办" in description and "investment-promotion" in description
    assert {t["name"] for t in spec["tags"]} >= {"auth 认证", "users 员工账号", "clients 对接系统", "audit 审计"}


def test_authorize_button_offers_both_grants(app: Any) -> None:
    flows = app.openapi()["components"]["securitySchemes"]["OAuth2"]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert flows["clientCredentials"]["tokenUrl"] == "/api/v1/auth/token"
    assert "users:write" in flows["password"]["scopes"]


def test_error_responses_are_documented_as_problem_json(app: Any) -> None:
    operation = app.openapi()["paths"]["/api/v1/users/{user_id}"]["patch"]
    for status in ("401", "403", "404", "412", "422", "428"):
        assert "application/problem+json" in operation["responses"][status]["content"], status
