"""Optimistic concurrency for writes: the caller names the version it read (If-Match)."""

from app.core.errors import ProblemError


class VersionMismatchError(ProblemError):
    def __init__(self, current: int) -> None:
        super().__init__(
            412,
            "version_mismatch",
            f"数据已被他人修改（当前版本 {current}），请刷新后重试 / "
            f"the resource changed since you read it (current version {current}); reload and retry",
            extra={"current_version": current},
        )


def check_version(current: int, expected: frozenset[int] | None) -> None:
    """`expected` holds the versions named in If-Match; None means `*` (any current version)."""
    if expected is not None and current not in expected:
        raise VersionMismatchError(current)
