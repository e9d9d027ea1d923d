"""SQL functions whose spelling differs between SQLite and PostgreSQL."""

from typing import Any

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType


class days_between(FunctionElement[int]):
    """Whole days from the second date to the first: `days_between(later, earlier)`."""

    type = Integer()
    inherit_cache = True


@compiles(days_between)
def _days_between_postgresql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"CAST(julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)}) AS INTEGER)"


class shanghai_month(FunctionElement[str]):
    """'YYYY-MM' of a UTC instant read in Asia/Shanghai (UTC+8 all year since 1991)."""

    type = String()
    inherit_cache = True


@compiles(shanghai_month)
def _shanghai_month_postgresql(element: shanghai_month, compiler: SQLCompiler, **kw: Any) -> str:
    (instant,) = list(element.clauses)
    return f"to_char({compiler.process(instant, **kw)} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"


@compiles(shanghai_month, "sqlite")
def _shanghai_month_sqlite(element: shanghai_month, compiler: SQLCompiler, **kw: Any) -> str:
    # UTCDateTime stores naive UTC text on SQLite.
    (instant,) = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(instant, **kw)}, '+8 hours')"


class json_rows(FunctionElement[Any]):
    """Aggregate: a JSON array of one JSON array per row, `json_rows(order_key, column, …)` → [[…], […]],
    in `order_key` order; `[]` when there are no rows. Children of a record (its contacts, its channels)
    come back with the record in one statement instead of one more query per kind of child.

    PostgreSQL orders the aggregate explicitly; SQLite (3.40 has no ORDER BY inside an aggregate) keeps the
    order of its input, so select from an ordered subquery (`child_rows` does).
    """

    type = JSON()
    inherit_cache = True


@compiles(json_rows)
def _json_rows_postgresql(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    order, *columns = (compiler.process(c, **kw) for c in element.clauses)
    return f"coalesce(json_agg(json_build_array({', '.join(columns)}) ORDER BY {order}), '[]'::json)"


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    _order, *columns = (compiler.process(c, **kw) for c in element.clauses)
    return f"json_group_array(json_array({', '.join(columns)}))"


class in_subquery(FunctionElement[Any]):
    """`column IN (SELECT …)`, written `column = ANY(ARRAY(SELECT …))` on PostgreSQL.

    The planner cannot know how many ids a recursive subquery (a zone and its sub-zones) returns; with IN
    it guesses hundreds and reads every enterprise with a sequential scan (77 ms on 200,000), with ANY of
    an array it reads the matching ones through the index (20 ms; bench/README.md).
    """

    # Untyped: a Boolean function would be compared with 1 in SQLite's WHERE (`x IN (…) = 1`).
    type = NullType()
    inherit_cache = True


@compiles(in_subquery)
def _in_subquery(element: in_subquery, compiler: SQLCompiler, **kw: Any) -> str:
    column, subquery = (compiler.process(c, **kw) for c in element.clauses)
    return f"{column} IN {subquery}"


@compiles(in_subquery, "postgresql")
def _in_subquery_postgresql(element: in_subquery, compiler: SQLCompiler, **kw: Any) -> str:
    column, subquery = (compiler.process(c, **kw) for c in element.clauses)
    return f"{column} = ANY(ARRAY{subquery})"


def child_rows(outer: Any, parent_id: Any, foreign_key: Any, order_key: Any, *columns: Any) -> Any:
    """A scalar subquery for a column of `outer`'s rows: the children whose `foreign_key` is `parent_id`,
    as `json_rows` in `order_key` order (e.g. an enterprise's contacts in id order)."""
    inner = (
        select(order_key.label("order_key"), *columns)
        .where(foreign_key == parent_id)
        .order_by(order_key)
        .correlate(outer)
        .subquery("children")
    )
    rows = json_rows(inner.c.order_key, *(inner.c[column.key] for column in columns))
    return select(rows).select_from(inner).correlate(outer).scalar_subquery()


class json_ids(FunctionElement[Any]):
    """Aggregate: the column's values as a JSON array in ascending order (`json_ids(x).filter(…)` keeps some).
    NULL (PostgreSQL) or [] (SQLite) when no row qualifies. SQLite does not promise the order: sort the
    list after reading it."""

    type = JSON()
    inherit_cache = True


@compiles(json_ids)
def _json_ids_postgresql(element: json_ids, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"json_agg({column} ORDER BY {column})"


@compiles(json_ids, "sqlite")
def _json_ids_sqlite(element: json_ids, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"json_group_array({column})"
