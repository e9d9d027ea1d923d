"""The parts every import spec is made of: columns, typed parsing of cells, and row-by-row writing.

A file's cells arrive as text (CSV) or as what Excel stored (numbers, dates, booleans). `parse_with` turns
them into what the resource's input model expects, then lets the model judge: an id typed "12" in CSV is
the integer 12, "是"/"否" a flag, "website；wechat" a list, and a time without an offset is Beijing time.
"""

import re
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, get_args, get_origin

from pydantic import AwareDatetime, BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import SHANGHAI
from app.core.errors import ProblemError
from app.core.principal import Principal
from app.services.exports import HEADERS, unwrap


class Outcome(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    required: bool
    example: str
    note: str = ""


def column(field: str, required: bool, example: str, note: str = "", header_key: str | None = None) -> Column:
    """A column under the export's header for the field, so an exported file reads back."""
    return Column(field, HEADERS[header_key or field], required, example, note)


@dataclass(frozen=True)
class Refusal:
    index: int  # in the batch
    field: str
    code: str
    message: str


@dataclass
class Applied:
    outcomes: list[Outcome] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


# Checks one row's values (field → cell value); raises pydantic.ValidationError.
Parse = Callable[[dict[str, Any]], BaseModel]
# Writes a batch of checked rows in the caller's transaction: each row's outcome, or why it was refused.
Apply = Callable[[AsyncSession, Principal, list[BaseModel], datetime], Awaitable[Applied]]
# What identifies a row inside the file (a repeat is an error); None when the row names no key.
Key = Callable[[BaseModel], Hashable | None]


@dataclass(frozen=True)
class ImportSpec:
    resource: str
    title: str
    scopes: tuple[str, ...]  # all needed: a write scope, and the clearance to see what rows are matched against
    columns: tuple[Column, ...]
    key: Key
    parse: Parse
    apply: Apply
    batch_size: int
    # Read-only columns of the resource's export (编号, 版本, …): accepted in a file and not read.
    ignored_headers: frozenset[str] = frozenset()


def key_of(*fields: str) -> Key:
    def key(row: BaseModel) -> Hashable | None:
        values = tuple(getattr(row, f, None) for f in fields)
        return None if all(v is None for v in values) else values

    return key


# --- cells to typed values ----------------------------------------------------------------------------

_INTEGER = re.compile(r"^[+-]?\d+$")
_NAIVE_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_TRUE = frozenset({"true", "是", "yes", "y", "1"})
_FALSE = frozenset({"false", "否", "no", "n", "0"})
_LIST_SPLIT = re.compile(r"[；;,，、]")


def _kind(annotation: Any) -> str:
    annotation = unwrap(annotation)
    if get_origin(annotation) is list:
        return "list"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation in (datetime, AwareDatetime):
        return "instant"
    if annotation in (Decimal, date):
        return "as_is"
    return "text"  # str, enums, literals


def _typed(kind: str, value: Any) -> Any:
    """The value the model expects, where the cell clearly holds it; anything else goes on for the model
    to refuse with its own message."""
    if kind == "int" and isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    if kind == "int" and isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if kind == "bool" and isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    if kind == "bool" and isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    if kind == "list" and isinstance(value, str):
        return [part.strip() for part in _LIST_SPLIT.split(value) if part.strip()]
    if kind == "instant":
        if isinstance(value, str) and _NAIVE_INSTANT.match(value):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value  # 2018-13-08 09:30: the model says what is wrong with it
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=SHANGHAI).isoformat()  # office time is Beijing time
        return value.isoformat() if isinstance(value, datetime) else value
    if kind == "text" and isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)  # a code Excel stored as a number, e.g. the industry code 64
    if kind == "text" and isinstance(value, date):
        return value.isoformat()
    return value


def parse_with(model: type[BaseModel]) -> Parse:
    kinds = {name: _kind(info.annotation) for name, info in model.model_fields.items()}
    # A list's items are typed too ("website；wechat" → ["website", "wechat"]); only lists of text are imported.
    for name, info in model.model_fields.items():
        if kinds[name] == "list" and not all(_kind(a) == "text" for a in get_args(unwrap(info.annotation))):
            raise TypeError(f"{model.__name__}.{name}: only lists of text are importable")

    def parse(values: dict[str, Any]) -> BaseModel:
        typed = {name: _typed(kinds.get(name, "text"), v) for name, v in values.items() if v is not None}
        return model.model_validate(typed)

    return parse


# --- writing ------------------------------------------------------------------------------------------


def refusal(index: int, exc: ProblemError, default_field: str) -> Refusal:
    located = [e for e in exc.errors or [] if e.get("loc")]
    name = str(located[0]["loc"][-1]) if located else default_field
    return Refusal(index, name, exc.code, exc.detail)


RowWriter = Callable[[AsyncSession, Principal, Any, datetime], Awaitable[Outcome]]


BatchWriter = Callable[[AsyncSession, Principal, Any, datetime], Awaitable[list[Outcome]]]


def row_by_row(
    write: RowWriter, default_field: str, keep: tuple[type[Any], ...] = (), batch: BatchWriter | None = None
) -> Apply:
    """Writes a batch in one savepoint; if the service refuses a row, the batch is undone and written again
    row by row, each row in its own savepoint, so the report holds every refused row, not only the first.

    `batch`: writes the whole batch at once (fewer statements) when no row is refused; else `write` per row.
    `keep`: reference tables (industries, zones) held in the session for the batch, so the services'
    `session.get` of them is answered from the identity map instead of one query per row.
    """

    async def apply(session: AsyncSession, actor: Principal, rows: list[BaseModel], now: datetime) -> Applied:
        held = [list(await session.scalars(select(model))) for model in keep]
        try:
            async with session.begin_nested():  # most files have no refused row: one savepoint per batch
                if batch is not None:
                    return Applied(outcomes=await batch(session, actor, rows, now))
                return Applied(outcomes=[await write(session, actor, row, now) for row in rows])
        except (ProblemError, IntegrityError):
            pass
        applied = Applied()
        for index, row in enumerate(rows):
            try:
                async with session.begin_nested():
                    applied.outcomes.append(await write(session, actor, row, now))
            except ProblemError as exc:
                applied.refused.append(refusal(index, exc, default_field))
            except IntegrityError:
                # Written by someone else meanwhile (the service checked first): this row, not the whole file.
                message = "与同时写入的数据冲突，请重试 / conflicts with data written meanwhile: import again"
                applied.refused.append(Refusal(index, default_field, "conflict", message))
        del held
        return applied

    return apply


def changed_fields(current: object, wanted: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in wanted.items() if getattr(current, name) != value}
