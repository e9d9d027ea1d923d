"""Differences between a frozen report and the same report now: by path, rows matched by their key."""

from app.services.calculators.differences import differences, flatten


def test_rows_are_matched_by_their_key_not_their_position() -> None:
    frozen = {"total": 3, "rows": [{"key": "news", "items": 2}, {"key": "budget", "items": 1}]}
    now = {
        "total": 4,
        "rows": [{"key": "notices", "items": 1}, {"key": "news", "items": 2}, {"key": "budget", "items": 1}],
    }
    assert differences(frozen, now) == [
        ("rows[key=notices].items", None, 1),
        ("rows[key=notices].key", None, "notices"),
        ("total", 3, 4),
    ]


def test_identical_documents_and_ignored_parts() -> None:
    doc = {"generated_at": "2018-11-01T00:00:00Z", "figures": {"a": [1, 2], "b": None}}
    later = doc | {"generated_at": "2019-01-01T00:00:00Z"}
    assert differences(doc, later, ignore=frozenset({"generated_at"})) == []
    assert differences(doc, later) == [("generated_at", "2018-11-01T00:00:00Z", "2019-01-01T00:00:00Z")]
    assert flatten({"empty": []}) == {"empty": []}
