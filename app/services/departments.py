"""Departments, street offices and utilities that handle service requests."""

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, unknown_reference
from app.core.principal import Principal
from app.models import ConsultationAppointment, Department, ServiceRequest, ServiceType, consultation_event_departments
from app.schemas.department import DepartmentCreate, DepartmentUpdate
from app.services import audit
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.versioning import check_version

DEPARTMENT_SORTS = {"code": Department.code, "name": Department.name}


def departments_query(q: str | None, active: bool | None, sort: tuple[str, ...]) -> Select[Department]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(Department)
    if q:
        needle = q.lower()
        stmt = stmt.where(
            func.lower(Department.name).contains(needle, autoescape=True)
            | func.lower(Department.code).contains(needle, autoescape=True)
        )
    if active is not None:
        stmt = stmt.where(Department.is_active.is_(active))
    return ordered(stmt, sort, DEPARTMENT_SORTS, Department.id)


async def list_departments(
    session: AsyncSession, q: str | None, active: bool | None, page: PageRequest
) -> Page[Department]:
    return await page_of(session, departments_query(q, active, page.sort), page)


async def get_department(session: AsyncSession, department_id: int) -> Department:
    department = await session.get(Department, department_id)
    if department is None:
        raise NotFoundError("department", department_id)
    return department


async def active_department(session: AsyncSession, field: str, department_id: int) -> Department:
    """A department a new request or event may use: it exists and is active."""
    department = await session.get(Department, department_id)
    if department is None or not department.is_active:
        raise unknown_reference(field, "active department", department_id)
    return department


async def _check_code(session: AsyncSession, code: str | None, department_id: int | None = None) -> None:
    if code is None:
        return
    existing = await session.scalar(select(Department.id).where(Department.code == code))
    if existing is not None and existing != department_id:
        raise ConflictError(
            "duplicate", f"部门代码 {code} 已存在 / department code {code} is taken", existing_id=existing
        )


async def create_department(session: AsyncSession, actor: Principal, data: DepartmentCreate) -> Department:
    await _check_code(session, data.code)
    department = Department(**data.model_dump())
    session.add(department)
    await session.flush()
    audit.record(session, actor, "create", "department", department.id, None, audit.snapshot(department))
    return department


async def update_department(
    session: AsyncSession, actor: Principal, department_id: int, data: DepartmentUpdate, expected: frozenset[int] | None
) -> Department:
    department = await get_department(session, department_id)
    check_version(department.version, expected)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    await _check_code(session, changes.get("code"), department.id)
    before = audit.snapshot(department)
    for field, value in changes.items():
        setattr(department, field, value)
    await session.flush()
    audit.record(session, actor, "update", "department", department.id, before, audit.snapshot(department))
    return department


async def delete_department(
    session: AsyncSession, actor: Principal, department_id: int, expected: frozenset[int] | None
) -> None:
    department = await get_department(session, department_id)
    check_version(department.version, expected)
    in_use = {
        "service_types": await session.scalar(select(func.count()).where(ServiceType.department_id == department_id)),
        "service_requests": await session.scalar(
            select(func.count()).where(ServiceRequest.department_id == department_id)
        ),
        "consultation_events": await session.scalar(
            select(func.count()).where(consultation_event_departments.c.department_id == department_id)
        ),
        "appointments": await session.scalar(
            select(func.count()).where(ConsultationAppointment.department_id == department_id)
        ),
    }
    if any(in_use.values()):
        listing = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in in_use.items() if n)
        raise ConflictError(
            "department_in_use",
            f"部门仍被引用，请改为停用 / department {department_id} is in use ({listing}); set is_active=false",
            in_use=in_use,
        )
    before = audit.snapshot(department)
    await session.delete(department)
    await session.flush()
    audit.record(session, actor, "delete", "department", department_id, before, None)
