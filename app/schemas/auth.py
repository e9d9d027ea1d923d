from typing import Literal

from pydantic import BaseModel, Field


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the token expires")
    scope: str = Field(description="Granted scopes, space-separated")


class Me(BaseModel):
    kind: Literal["user", "client", "system"]
    id: int | None
    name: str
    role: str | None = Field(description="Staff role; null for API clients")
    scopes: list[str]
