from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from app.schemas.common import Flag, InputModel, Name, PatchModel, ReadModel

ScopeName = Annotated[str, StringConstraints(pattern=r"^[a-z_]+:[a-z_]+$", max_length=64)]


class ApiClientCreate(InputModel):
    name: Name = Field(description="The district system, e.g. 区统计局数据报送")
    scopes: list[ScopeName] = Field(min_length=1, max_length=100, description="The most this client may be granted")


class ApiClientUpdate(PatchModel):
    name: Name | None = None
    scopes: list[ScopeName] | None = Field(default=None, min_length=1, max_length=100)
    is_active: Flag | None = Field(default=None, description="false disables the client and its tokens")


class ApiClientRead(ReadModel):
    id: int
    client_id: str
    name: str
    scopes: list[str]
    is_active: bool
    secret_rotated_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int

    @field_validator("scopes", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return sorted(value.split()) if isinstance(value, str) else value


class ApiClientWithSecret(ApiClientRead):
    client_secret: str = Field(description="Shown once; store it now. Only its hash is kept.")
