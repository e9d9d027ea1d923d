"""Demo data for a first look: staff for each role, the 2018 report's registry, key projects, KPIs and services."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import shanghai_date
from app.core.principal import SYSTEM
from app.core.scopes import Role
from app.models import User
from app.schemas.user import UserCreate
from app.services import users
from app.services.demo.disclosure import load_disclosure
from app.services.demo.kpis import load_kpis
from app.services.demo.projects import load_projects
from app.services.demo.registry import load_registry
from app.services.demo.services import load_services

DEMO_ADMIN_USERNAME = "admin"
# Demo staff, one per role (two chief service officers), sharing the demo admin's password.
DEMO_STAFF = [
    ("leader", "区招商办分管领导（示例）", Role.leader),
    ("cso.zhang", "张首席服务官（示例）", Role.officer),
    ("cso.li", "李首席服务官（示例）", Role.officer),
    ("viewer", "只读查询（示例）", Role.viewer),
]


@dataclass(frozen=True)
class DemoResult:
    admin_created: bool
    admin_password: str | None  # only when this run created the accounts
    registry_loaded: bool
    projects_loaded: bool
    kpis_loaded: bool
    services_loaded: bool
    disclosure_loaded: bool


async def load_demo_data(session: AsyncSession, admin_password: str | None) -> DemoResult:
    """Idempotent: running it again changes nothing and never resets a password."""
    password: str | None = None
    if await session.scalar(select(User.id).where(User.username == DEMO_ADMIN_USERNAME)) is None:
        password = admin_password or secrets.token_urlsafe(12)
        for username, name, role in [(DEMO_ADMIN_USERNAME, "演示管理员", Role.admin), *DEMO_STAFF]:
            await users.create_user(
                session, SYSTEM, UserCreate(username=username, display_name=name, role=role, password=password)
            )
    officers = list(await session.scalars(select(User).where(User.role == Role.officer.value).order_by(User.id)))
    today = shanghai_date(datetime.now(UTC))
    registry_loaded = await load_registry(session, officers, today)
    projects_loaded = await load_projects(session, officers)
    kpis_loaded = await load_kpis(session, today)
    leader = await session.scalar(select(User).where(User.username == "leader"))
    services_loaded = await load_services(session, officers, leader, today)
    disclosure_loaded = await load_disclosure(session, today)
    return DemoResult(
        admin_created=password is not None,
        admin_password=password,
        registry_loaded=registry_loaded,
        projects_loaded=projects_loaded,
        kpis_loaded=kpis_loaded,
        services_loaded=services_loaded,
        disclosure_loaded=disclosure_loaded,
    )
