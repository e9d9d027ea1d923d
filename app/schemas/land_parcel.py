from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from app.schemas.common import ISO_DATE, VISIBLE_TEXT, Id, InputModel, PatchModel, ReadModel, exact

# Stored upper case, so "ah040101" cannot sit beside "AH040101".
ParcelCode = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=VISIBLE_TEXT, to_upper=True)]
AreaM2 = Annotated[Decimal, Field(gt=0, le=Decimal("100000000"), decimal_places=2, description="m², exact"), exact(2)]
Price = Annotated[
    Decimal, Field(ge=0, le=Decimal("10000000000000"), decimal_places=2, description="Yuan, exact"), exact(2)
]
PlannedUse = Annotated[str, StringConstraints(max_length=100, pattern=VISIBLE_TEXT)]
BusinessDate = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31)), ISO_DATE]


class LandParcelCreate(InputModel):
    code: ParcelCode = Field(description="地块编号, e.g. AH040120")
    zone_id: Id
    area_m2: AreaM2
    planned_use: PlannedUse | None = Field(default=None, description="规划用途, e.g. 商务设施用地 B2")
    transferred_on: BusinessDate | None = Field(default=None, description="出让日期")
    buyer_enterprise_id: Id | None = Field(default=None, description="竞得企业 (the buyer)")
    price: Price | None = Field(default=None, description="成交价 in yuan")


class LandParcelUpdate(PatchModel):
    NULLABLE = frozenset({"planned_use", "transferred_on", "buyer_enterprise_id", "price"})

    code: ParcelCode | None = None
    zone_id: Id | None = None
    area_m2: AreaM2 | None = None
    planned_use: PlannedUse | None = None
    transferred_on: BusinessDate | None = None
    buyer_enterprise_id: Id | None = None
    price: Price | None = None


class LandParcelRead(ReadModel):
    id: int
    code: str
    zone_id: int
    area_m2: Decimal
    planned_use: str | None
    transferred_on: date | None
    buyer_enterprise_id: int | None
    price: Decimal | None
    created_at: datetime
    updated_at: datetime
    version: int
