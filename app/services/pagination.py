"""Offset pagination with a total, whitelisted sort keys and a unique tiebreaker for stable order."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int
    # Keys from the resource's whitelist; a leading "-" sorts descending.
    sort: tuple[str, ...] = ()


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int


async def paginate(
    session: AsyncSession,
    stmt: Select[T],
    page: PageRequest,
    sortable: Mapping[str, ColumnElement[Any] | Any],
    tiebreaker: ColumnElement[Any] | Any,
) -> Page[T]:
    # count(*) over the filtered statement: 0 on an empty table, never 1.
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    order: list[Any] = []
    for key in page.sort:
        column = sortable[key.lstrip("-")]
        # Missing values last in both directions, the same on SQLite and PostgreSQL (their defaults differ).
        order.append((column.desc() if key.startswith("-") else column.asc()).nulls_last())
    order.append(tiebreaker.desc() if page.sort and page.sort[-1].startswith("-") else tiebreaker.asc())
    rows = await session.scalars(stmt.order_by(*order).limit(page.limit).offset(page.offset))
    return Page(items=list(rows), total=int(total or 0), limit=page.limit, offset=page.offset)
