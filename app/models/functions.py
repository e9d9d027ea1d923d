"""SQL functions whose spelling differs between SQLite and PostgreSQL."""

from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


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
