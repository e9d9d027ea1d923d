"""The JSON log drops what PostgreSQL puts of a row's values into its error text."""

import logging

from app.core.logging import JsonFormatter

NUMBER = "440105199003070013"


def _formatted(message: str) -> str:
    return JsonFormatter().format(logging.makeLogRecord({"name": "app.errors", "msg": message, "levelname": "WARNING"}))


def test_database_details_are_redacted() -> None:
    for message in (
        'duplicate key value violates unique constraint "uq_talent_persons_national_id"\n'
        f"DETAIL:  Key (national_id)=({NUMBER}) already exists.",
        f"UniqueViolationError: Key (national_id)=({NUMBER}) already exists.",
        f'null value in column "name" violates not-null constraint; Failing row contains (7, null, {NUMBER}).',
    ):
        written = _formatted(message)
        assert NUMBER not in written
        assert "[redacted]" in written


def test_ordinary_messages_are_left_alone() -> None:
    assert "GET /api/v1/talents 200" in _formatted("GET /api/v1/talents 200")
