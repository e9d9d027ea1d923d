"""The service catalogue: request types, the department responsible and the time limit in working days."""

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, unknown_reference
from app.core.principal import Principal
from app.models import ServiceCategory, ServiceRequest, ServiceType
from app.schemas.service_type import ServiceTypeCreate, ServiceTypeUpdate
from app.services import audit
from app.services.departments import active_department
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.versioning import check_version

SERVICE_TYPE_SORTS = {
    "code": ServiceType.code,
    "name": ServiceType.name,
    "time_limit_working_days": ServiceType.time_limit_working_days,
}


def types_query(
    category: ServiceCategory | None, department_id: int | None, active: bool | None, sort: tuple[str, ...]
) -> Select[ServiceType]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(ServiceType)
    if category is not None:
        stmt = stmt.where(ServiceType.category == category)
    if department_id is not None:
        stmt = stmt.where(ServiceType.department_id == department_id)
    if active is not None:
        stmt = stmt.where(ServiceType.is_active.is_(active))
    return ordered(stmt, sort, SERVICE_TYPE_SORTS, ServiceType.id)


async def list_types(
    session: AsyncSession,
    category: ServiceCategory | None,
    department_id: int | None,
    active: bool | None,
    page: PageRequest,
) -> Page[ServiceType]:
    return await page_of(session, types_query(category, department_id, active, page.sort), page)


async def get_type(session: AsyncSession, type_id: int) -> ServiceType:
    found = await session.get(ServiceType, type_id)
    if found is None:
        raise NotFoundError("service type", type_id)
    return found


async def active_type(session: AsyncSession, type_id: int) -> ServiceType:
    """A type a new request may use: 422 naming `service_type_id` when it does not exist or is retired."""
    found = await session.get(ServiceType, type_id)
    if found is None or not found.is_active:
        raise unknown_reference("service_type_id", "active service type", type_id)
    return found


async def _check(session: AsyncSession, changes: dict[str, Any], type_id: int | None = None) -> None:
    code = changes.get("code")
    if code is not None:
        existing = await session.scalar(select(ServiceType.id).where(ServiceType.code == code))
        if existing is not None and existing != type_id:
            raise ConflictError(
                "duplicate", f"服务事项代码 {code} 已存在 / service type code {code} is taken", existing_id=existing
            )
    if changes.get("department_id") is not None:
        await active_department(session, "department_id", changes["department_id"])


async def create_type(session: AsyncSession, actor: Principal, data: ServiceTypeCreate) -> ServiceType:
    changes = data.model_dump()
    await _check(session, changes)
    service_type = ServiceType(**changes)
    session.add(service_type)
    await session.flush()
    audit.record(session, actor, "create", "service_type", service_type.id, None, audit.snapshot(service_type))
    return service_type


async def update_type(
    session: AsyncSession, actor: Principal, type_id: int, data: ServiceTypeUpdate, expected: frozenset[int] | None
) -> ServiceType:
    service_type = await get_type(session, type_id)
    check_version(service_type.version, expected)
    changes = data.model_dump(exclude_unset=True)
    await _check(session, changes, type_id)
    before = audit.snapshot(service_type)
    for field, value in changes.items():
        setattr(service_type, field, value)
    await session.flush()
    audit.record(session, actor, "update", "service_type", type_id, before, audit.snapshot(service_type))
    return service_type


async def delete_type(session: AsyncSession, actor: Principal, type_id: int, expected: frozenset[int] | None) -> None:
    service_type = await get_type(session, type_id)
    check_version(service_type.version, expected)
    used = await session.scalar(select(func.count()).where(ServiceRequest.service_type_id == type_id))
    if used:
        raise ConflictError(
            "service_type_in_use",
            f"已有 {used} 件诉求使用该事项，请改为停用 / {used} service request(s) use type {type_id}; "
            "set is_active=false instead",
            in_use={"service_requests": used},
        )
    before = audit.snapshot(service_type)
    await session.delete(service_type)
    await session.flush()
    audit.record(session, actor, "delete", "service_type", type_id, before, None)
