"""Walks every route of the app: none but health, docs and the token endpoint answers without a token."""

import re
from typing import Any

import httpx
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

PUBLIC = {
    ("GET", "/healthz"),
    ("HEAD", "/healthz"),
    ("GET", "/readyz"),
    ("HEAD", "/readyz"),
    ("POST", "/api/v1/auth/token"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


def _all_routes(app: Any) -> list[tuple[str, str]]:
    """Every operation: the OpenAPI paths (all API routes) plus the top-level routes kept out of it."""
    found = [(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops]
    for route in app.routes:
        if isinstance(route, APIRoute | Route) and not isinstance(route, Mount):
            found.extend((m, route.path) for m in sorted(route.methods or ()) if m != "HEAD")
    return sorted(set(found))


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_route_but_the_public_ones_needs_a_token(client: httpx.AsyncClient, app: Any) -> None:
    routes = _all_routes(app)
    assert len(routes) > 10  # the walk really sees the API
    assert set(routes) >= PUBLIC, "a public route moved; update the list"
    open_routes = []
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        response = await client.request(method, _concrete(path))
        if response.status_code != 401:
            open_routes.append((method, path, response.status_code))
        else:
            assert response.json()["code"] == "unauthenticated"
    assert open_routes == []


def test_every_protected_route_documents_the_oauth2_scheme(app: Any) -> None:
    spec = app.openapi()
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if (method.upper(), path) in PUBLIC:
                continue
            if not operation.get("security"):
                missing.append((method, path))
    assert missing == []


def test_every_route_but_whoami_declares_a_scope(app: Any) -> None:
    spec = app.openapi()
    unscoped = [
        (method, path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if (method.upper(), path) not in PUBLIC
        and not any(requirement.get("OAuth2") for requirement in operation.get("security", []))
    ]
    # /auth/me is for any valid caller by design: it tells the caller its own scopes.
    assert unscoped == [("get", "/api/v1/auth/me")]


def test_no_two_routes_serve_one_path(app: Any) -> None:
    # create_app includes the routers busiest first (FastAPI tries them in order); that is safe only while
    # a concrete path matches one route template, whatever the order.
    spec = app.openapi()
    templates: list[tuple[str, str, re.Pattern[str]]] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            integers = {p["name"] for p in parameters if p.get("schema", {}).get("type") == "integer"}
            regex = re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
            for name in re.findall(r"\{([^}]+)\}", path):
                regex = regex.replace(f"{{{name}}}", "[0-9]+" if name in integers else "[^/]+")
            templates.append((method, path, re.compile(f"^{regex}$")))
    clashes = [
        (method, path, other)
        for method, path, _ in templates
        for other_method, other, pattern in templates
        if other_method == method and other != path and pattern.match(_concrete(path))
    ]
    assert len(templates) > 200
    assert clashes == []
