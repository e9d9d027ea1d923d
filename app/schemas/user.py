from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.core.scopes import Role
from app.schemas.common import Flag, InputModel, Name, PatchModel, ReadModel

Username = Annotated[
    str,
    StringConstraints(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$", to_lower=True),
]
# Long enough to matter, short enough that hashing it is cheap; spaces allowed (pass phrases).
Password = Annotated[str, StringConstraints(min_length=10, max_length=128, strip_whitespace=False)]


class UserCreate(InputModel):
    username: Username = Field(description="Login name, letters/digits/._@-, case-insensitive (stored lower case)")
    display_name: Name = Field(description="姓名 / name shown to colleagues")
    role: Role
    password: Password


class UserUpdate(PatchModel):
    display_name: Name | None = None
    role: Role | None = None
    is_active: Flag | None = Field(default=None, description="false disables the account and its tokens")
    password: Password | None = Field(default=None, description="Sets a new password")


class UserRead(ReadModel):
    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
