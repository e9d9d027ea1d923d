from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from app.models import ZoneKind
from app.schemas.common import ISO_DATE, MULTILINE_TEXT, Id, InputModel, Name, PatchModel, ReadModel, exact

# Codes compare case-insensitively: stored upper case, so "pz" cannot sit beside "PZ".
ZoneCode = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", to_upper=True)
]
AreaKm2 = Annotated[Decimal, Field(gt=0, le=100_000, decimal_places=6, description="km², up to 6 decimals"), exact(6)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=MULTILINE_TEXT)]
AreaDate = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31)), ISO_DATE]


class ZoneCreate(InputModel):
    code: ZoneCode = Field(description="Short unique code, e.g. PZ-CORE")
    name: Name = Field(description="e.g. 琶洲互联网创新集聚区核心区")
    kind: ZoneKind
    parent_id: Id | None = None


class ZoneUpdate(PatchModel):
    NULLABLE = frozenset({"parent_id"})

    code: ZoneCode | None = None
    name: Name | None = None
    kind: ZoneKind | None = None
    parent_id: Id | None = Field(default=None, description="Move under another zone; null makes it top-level")


class ZoneRead(ReadModel):
    id: int
    code: str
    name: str
    kind: ZoneKind
    parent_id: int | None
    created_at: datetime
    updated_at: datetime
    version: int


class AreaVersionCreate(InputModel):
    area_km2: AreaKm2
    effective_from: AreaDate
    effective_to: AreaDate | None = Field(default=None, description="Exclusive; null = still in force")
    note: Note | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        return self


class AreaVersionRead(ReadModel):
    id: int
    zone_id: int
    area_km2: Decimal
    effective_from: date
    effective_to: date | None
    note: str | None
    version: int


class AreaBasisMember(ReadModel):
    zone_id: int
    code: str
    name: str
    kind: ZoneKind
    area_km2: Decimal | None = Field(description="null: no area version in force on that date")


class AreaBasis(ReadModel):
    zone_id: int
    on: date
    area_km2: Decimal = Field(description="Sum over the member (leaf) zones' areas in force on `on`")
    area_mu: Decimal = Field(description="The same in 亩 (1 km² = 1,500 亩)")
    members: list[AreaBasisMember]
    missing: list[int] = Field(description="Member zones without an area in force on that date (not counted)")
