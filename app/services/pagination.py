"""Offset pagination with a total, whitelisted sort keys and a unique tiebreaker for stable order.

A list is built in two steps: `ordered()` turns the filtered statement into the list's ordered statement,
then `page_of()` reads one page of it, or an export reads all of it (`count()` first, then in batches).
"""

from collections.abc import AsyncIterator, Mapping, Sequence
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


def ordered(
    stmt: Select[T],
    sort: Sequence[str],
    sortable: Mapping[str, ColumnElement[Any] | Any],
    tiebreaker: ColumnElement[Any] | Any,
) -> Select[T]:
    """The statement in the list's order: the whitelisted `sort` keys, then the unique tiebreaker."""
    order: list[Any] = []
    for key in sort:
        column = sortable[key.lstrip("-")]
        # Missing values last in both directions, the same on SQLite and PostgreSQL (their defaults differ).
        order.append((column.desc() if key.startswith("-") else column.asc()).nulls_last())
    order.append(tiebreaker.desc() if sort and sort[-1].startswith("-") else tiebreaker.asc())
    return stmt.order_by(*order)


async def count(session: AsyncSession, stmt: Select[Any]) -> int:
    # count(*) over the filtered statement: 0 on an empty table, never 1.
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return int(total or 0)


async def page_of(session: AsyncSession, stmt: Select[T], page: PageRequest) -> Page[T]:
    """One page of an `ordered()` statement, with the total over all its rows."""
    total = await count(session, stmt)
    rows = await session.scalars(stmt.limit(page.limit).offset(page.offset))
    return Page(items=list(rows), total=total, limit=page.limit, offset=page.offset)


async def paginate(
    session: AsyncSession,
    stmt: Select[T],
    page: PageRequest,
    sortable: Mapping[str, ColumnElement[Any] | Any],
    tiebreaker: ColumnElement[Any] | Any,
) -> Page[T]:
    return await page_of(session, ordered(stmt, page.sort, sortable, tiebreaker), page)


async def batches(
    session: AsyncSession, stmt: Select[Any], size: int = 500, *, rows: bool = False
) -> AsyncIterator[Sequence[Any]]:
    """Every row of an `ordered()` statement, `size` at a time, without holding them all in memory: the
    first column of each row (an ORM object), or with `rows` the whole rows (a statement of columns).

    A server-side cursor (`yield_per`); eager loads (`selectinload`) run once per batch.
    """
    options = stmt.execution_options(yield_per=size)
    result = await (session.stream(options) if rows else session.stream_scalars(options))
    async for partition in result.partitions():
        yield partition
