"""What changed between two JSON documents (a frozen report and the same report generated now)."""

from typing import Any

# List items carrying one of these keys are matched by it, not by position: a new row in the middle
# of a table then shows as one difference, not as every row after it.
IDENTITY_KEYS = (
    "code",
    "key",
    "metric",
    "zone_id",
    "enterprise_id",
    "officer_id",
    "department_id",
    "kind",
    "investor_class",
    "source",
    "currency",
    "heading",
)


def _identity(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in IDENTITY_KEYS:
            if key in item and isinstance(item[key], str | int):
                return f"[{key}={item[key]}]"
    return f"[{index}]"


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values by path, e.g. {"disclosure.total": 358, "disclosure.by_category[key=news].items": 336}."""
    if isinstance(document, dict):
        out: dict[str, Any] = {}
        for key, value in document.items():
            out |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(document, list):
        out = {}
        for index, item in enumerate(document):
            out |= flatten(item, f"{prefix}{_identity(item, index)}")
        return out or {prefix: []}
    return {prefix: document}


def differences(frozen: Any, now: Any, ignore: frozenset[str] = frozenset()) -> list[tuple[str, Any, Any]]:
    """(path, frozen value, current value) for every leaf that differs, in path order; a leaf missing on
    one side is None there. Paths whose first segment is in `ignore` are skipped."""
    before, after = flatten(frozen), flatten(now)
    changed = []
    for path in sorted(before.keys() | after.keys()):
        if path.split(".")[0].split("[")[0] in ignore:
            continue
        if before.get(path) != after.get(path):
            changed.append((path, before.get(path), after.get(path)))
    return changed
