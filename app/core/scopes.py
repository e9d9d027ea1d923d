"""The scope catalogue and what each staff role may hold. Scopes read `resource:action`."""

from enum import StrEnum

SCOPES: dict[str, str] = {
    "users:read": "查看员工账号 / read staff accounts",
    "users:write": "管理员工账号 / create, change and disable staff accounts",
    "clients:read": "查看对接系统 / read API clients (district systems)",
    "clients:write": "管理对接系统 / create, change, disable API clients and rotate their secrets",
    "audit:read": "查看审计日志 / read the audit log",
}


class Role(StrEnum):
    admin = "admin"  # 系统管理员
    leader = "leader"  # 分管领导: reads everything, incl. the audit trail
    officer = "officer"  # 招商/服务专员: day-to-day writes on the domain
    viewer = "viewer"  # 只读


ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.admin: frozenset(SCOPES),
    Role.leader: frozenset({"users:read", "clients:read", "audit:read"}),
    Role.officer: frozenset(),
    Role.viewer: frozenset(),
}


def parse_scopes(text: str | None) -> frozenset[str]:
    return frozenset(text.split()) if text else frozenset()


def unknown_scopes(scopes: frozenset[str]) -> frozenset[str]:
    return scopes - SCOPES.keys()
