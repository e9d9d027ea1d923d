import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, ClassVar, Generic, TypeVar, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

T = TypeVar("T")


def _holds(annotation: object, kinds: tuple[type, ...]) -> bool:
    return annotation in kinds or any(_holds(arg, kinds) for arg in get_args(annotation))


@cache
def _number_keys(model: type[BaseModel]) -> frozenset[str]:
    """The keys of a body model's number fields (a flag may be a number or a bool: left alone)."""
    return frozenset(
        field.alias or name
        for name, field in model.model_fields.items()
        if _holds(field.annotation, (int, float, Decimal)) and not _holds(field.annotation, (bool,))
    )


class _JsonBoolean:
    """Stands in for a JSON boolean sent for a number, so the field itself refuses it (and errors[].loc names it)."""


class InputModel(BaseModel):
    """Base for request bodies: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: object) -> object:
        # Pydantic's lax mode reads false as 0 and true as 1; a JSON boolean sent for a number is a mistake.
        if not isinstance(data, dict):
            return data
        numbers = _number_keys(cls)
        return {k: _JsonBoolean() if k in numbers and isinstance(v, bool) else v for k, v in data.items()}


class PatchModel(InputModel):
    """Base for PATCH bodies: omitted fields stay as they are; explicit null clears only the fields
    listed in `NULLABLE` (e.g. an optional parent) and is refused elsewhere."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: object, info: ValidationInfo) -> object:
        # Runs only for fields the caller sent, so the error names the field (errors[].loc).
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("null is not allowed here; omit the field to keep its value")
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # The fields are Optional only so that omitting them keeps the stored value; the schema says what a
        # caller may send, and null is refused outside NULLABLE (generated clients must not offer it).
        schema = handler(core_schema)
        for name, prop in handler.resolve_ref_schema(schema).get("properties", {}).items():
            options = prop.get("anyOf")
            if name in cls.NULLABLE or not options or {"type": "null"} not in options:
                continue
            rest = [o for o in prop.pop("anyOf") if o != {"type": "null"}]
            prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
            if "default" in prop and prop["default"] is None:
                del prop["default"]
        return schema


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Rows matching the filters, ignoring limit/offset")
    limit: int
    offset: int


# Characters refused in names, titles and search text: C0/C1 controls, zero-width and direction marks
# (including the Arabic letter mark), bidi overrides/isolates, line/paragraph separators, the BOM, and the
# characters that render as nothing (soft hyphen, fillers, Mongolian variation selectors, tag characters).
# They hide or reorder what a reader sees (a name that displays differently from what is stored).
# ZWJ (U+200D) stays: emoji need it.
_HIDDEN = (
    "\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200c\u200e\u200f\u2028-\u202e"
    "\u2060-\u2069\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f"
)
VISIBLE_TEXT = f"^[^\x00-\x1f{_HIDDEN}]+$"
# Free text (notes, reasons, findings) may also hold tabs and line breaks.
MULTILINE_TEXT = f"^[^\x00-\x08\x0b\x0c\x0e-\x1f{_HIDDEN}]+$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=VISIBLE_TEXT)]
SearchText = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=VISIBLE_TEXT)]


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_only(value: object) -> object:
    # Pydantic reads 1764547200 or "2026-11-01T00:00:00" as a date too; a business date is asked for.
    if isinstance(value, datetime) or not (
        isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value))
    ):
        raise ValueError("expected an ISO 8601 date, e.g. 2018-10-31")
    return value


ISO_DATE = BeforeValidator(_iso_date_only)

# Business dates in queries (as_of, on, ranges): plausible years only, so date arithmetic cannot overflow.
QueryDate = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31)), ISO_DATE]

# Integer primary keys are 32-bit on PostgreSQL; larger path/query ids are a 422, not a database error.
MAX_ID = 2**31 - 1
# Ids in bodies are JSON integers: "3", 3.0 and true are refused, not coerced.
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
# Flags in bodies are JSON booleans: "yes" and 1 are refused.
Flag = Annotated[bool, Field(strict=True)]


def _utc_instant(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("instant out of range once converted to UTC") from None


def _iso_only(value: object) -> object:
    # Pydantic would read 0, 1700000000 or "1700000000" as a Unix time; an ISO 8601 instant is asked for.
    numeric = isinstance(value, int | float) or (
        isinstance(value, str) and value.lstrip("-").replace(".", "", 1).isdigit()
    )
    if numeric:
        raise ValueError("expected an ISO 8601 date-time with an offset, e.g. 2018-10-31T23:30:00+08:00")
    return value


def exact(places: int) -> AfterValidator:
    """Writes a decimal at its column's scale ("1.5" → "1.50"), so the echo, the store and the audit agree.

    Only pads: the field's `decimal_places` constraint has already refused anything finer.
    """
    quantum = Decimal(1).scaleb(-places)
    return AfterValidator(lambda value: value.quantize(quantum) if isinstance(value, Decimal) else value)


Instant = Annotated[AwareDatetime, BeforeValidator(_iso_only), AfterValidator(_utc_instant)]


# Dates officers enter for what happened (visits, decisions, hand-overs); the service refuses future ones.
EnteredDate = Annotated[date, Field(ge=date(1990, 1, 1), le=date(2100, 12, 31)), ISO_DATE]
# Short codes for reference rows (departments, service types): lower-case identifiers.
RefCode = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=VISIBLE_TEXT)]
NoteText = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=MULTILINE_TEXT)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=10_000, pattern=MULTILINE_TEXT)]


def unique_ids(values: list[int]) -> list[int]:
    if len(set(values)) != len(values):
        raise ValueError("the same id appears twice")
    return values
