from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.models import ServiceCategory
from app.schemas.common import MULTILINE_TEXT, Flag, Id, InputModel, Name, PatchModel, ReadModel, RefCode
from app.services.calculators.working_days import MAX_WORKING_DAYS

TimeLimit = Annotated[int, Field(strict=True, ge=1, le=MAX_WORKING_DAYS, description="Working days")]
Description = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=MULTILINE_TEXT)]


class ServiceTypeCreate(InputModel):
    code: RefCode = Field(description="e.g. fire_inspection")
    name: Name = Field(description="e.g. 二次消防验收")
    category: ServiceCategory
    department_id: Id = Field(description="The department responsible")
    time_limit_working_days: TimeLimit
    description: Description | None = None


class ServiceTypeUpdate(PatchModel):
    NULLABLE = frozenset({"description"})

    code: RefCode | None = None
    name: Name | None = None
    category: ServiceCategory | None = None
    department_id: Id | None = None
    time_limit_working_days: TimeLimit | None = Field(
        default=None, description="Applies to requests registered from now on; earlier due dates stay"
    )
    description: Description | None = None
    is_active: Flag | None = Field(default=None, description="Inactive types take no new requests")


class ServiceTypeRead(ReadModel):
    id: int
    code: str
    name: str
    category: ServiceCategory
    department_id: int
    time_limit_working_days: int
    description: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
    version: int
