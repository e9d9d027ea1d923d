"""Demo data for a first look: a demo administrator (and, as features land, sample records)."""

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import SYSTEM
from app.core.scopes import Role
from app.models import User
from app.schemas.user import UserCreate
from app.services import users

DEMO_ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class DemoResult:
    admin_created: bool
    admin_password: str | None  # only when this run created the admin


async def load_demo_data(session: AsyncSession, admin_password: str | None) -> DemoResult:
    """Idempotent: running it again changes nothing and never resets the admin's password."""
    if await session.scalar(select(User.id).where(User.username == DEMO_ADMIN_USERNAME)) is not None:
        return DemoResult(admin_created=False, admin_password=None)
    password = admin_password or secrets.token_urlsafe(12)
    await users.create_user(
        session,
        SYSTEM,
        UserCreate(username=DEMO_ADMIN_USERNAME, display_name="演示管理员", role=Role.admin, password=password),
    )
    return DemoResult(admin_created=True, admin_password=password)
