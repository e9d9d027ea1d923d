"""Staff accounts: create, change, disable. Every write is audited."""

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError
from app.core.principal import Principal
from app.core.scopes import Role
from app.core.security import hash_secret
from app.models import User
from app.schemas.user import UserCreate, UserUpdate
from app.services import audit, auth
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.versioning import check_version

USER_SORTS = {
    "username": User.username,
    "display_name": User.display_name,
    "created_at": User.created_at,
    "role": User.role,
}


@dataclass(frozen=True)
class UserFilter:
    q: str | None = None
    role: Role | None = None
    is_active: bool | None = None


def users_query(flt: UserFilter, sort: tuple[str, ...]) -> Select[User]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(User)
    if flt.q:
        needle = flt.q.lower()
        stmt = stmt.where(
            or_(
                User.username.contains(needle, autoescape=True),
                func.lower(User.display_name).contains(needle, autoescape=True),
            )
        )
    if flt.role is not None:
        stmt = stmt.where(User.role == flt.role.value)
    if flt.is_active is not None:
        stmt = stmt.where(User.is_active == flt.is_active)
    return ordered(stmt, sort, USER_SORTS, User.id)


async def list_users(session: AsyncSession, flt: UserFilter, page: PageRequest) -> Page[User]:
    return await page_of(session, users_query(flt, page.sort), page)


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFoundError("user", user_id)
    return user


async def create_user(session: AsyncSession, actor: Principal, data: UserCreate) -> User:
    existing = await session.scalar(select(User.id).where(User.username == data.username))
    if existing is not None:
        raise ConflictError(
            "duplicate",
            f"用户名 {data.username} 已存在 / username {data.username} is taken",
            existing_id=existing,
        )
    user = User(
        username=data.username,
        display_name=data.display_name,
        role=data.role.value,
        password_hash=await hash_secret(data.password),
        is_active=True,
    )
    session.add(user)
    await session.flush()
    audit.record(session, actor, "create", "user", user.id, None, audit.snapshot(user))
    return user


async def update_user(
    session: AsyncSession, actor: Principal, user_id: int, data: UserUpdate, expected_version: frozenset[int] | None
) -> User:
    user = await get_user(session, user_id)
    check_version(user.version, expected_version)
    changes = data.model_dump(exclude_unset=True)
    demoting = changes.get("is_active") is False or (changes.get("role") or user.role) != user.role
    if actor.kind == "user" and actor.id == user.id and demoting:
        # An admin locking themselves out leaves nobody to undo it.
        raise ConflictError("self_lockout", "不能停用自己或修改自己的角色 / you cannot disable or demote yourself")
    before = audit.snapshot(user)
    for field in ("display_name", "is_active"):
        if changes.get(field) is not None:
            setattr(user, field, changes[field])
    if changes.get("role") is not None:
        user.role = Role(changes["role"]).value
    password_changed = changes.get("password") is not None
    if password_changed:
        user.password_hash = await hash_secret(changes["password"])
    await session.flush()
    auth.principals.forget("user", user.id)
    after = audit.snapshot(user)
    if password_changed:
        # The hash itself never enters the audit trail; the fact of the change does.
        before["password"], after["password"] = "(unchanged)", "(changed)"
    audit.record(session, actor, "update", "user", user.id, before, after)
    return user
