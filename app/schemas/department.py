from datetime import datetime

from pydantic import Field

from app.schemas.common import Flag, InputModel, Name, PatchModel, ReadModel, RefCode


class DepartmentCreate(InputModel):
    code: RefCode = Field(description="e.g. fire, tax, pazhou_street")
    name: Name = Field(description="e.g. 区消防救援大队")


class DepartmentUpdate(PatchModel):
    code: RefCode | None = None
    name: Name | None = None
    is_active: Flag | None = Field(default=None, description="Inactive departments take no new requests")


class DepartmentRead(ReadModel):
    id: int
    code: str
    name: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    version: int
