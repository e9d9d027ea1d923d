from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class ChangeItem(BaseModel, Generic[T]):
    id: int = Field(description="The row's id")
    deleted: bool = Field(description="The row no longer exists: remove it from the mirror")
    data: T | None = Field(description="The row as GET returns it now; null when deleted")


class ChangePage(BaseModel, Generic[T]):
    items: list[ChangeItem[T]] = Field(description="Each changed row once, in the order of its latest change")
    next_cursor: str = Field(description="Pass as `cursor` for the next page; keep it to resume later")
    has_more: bool = Field(
        description="More changes are ready, or are committed and wait behind an older open transaction: ask "
        "again (after a short pause when this page was empty). False means caught up: poll again later"
    )
