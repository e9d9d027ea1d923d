"""`zhaoshang webhooks run-once`: one round of the webhook loop from the console."""

import json

import pytest

from tests.test_cli import _run


@pytest.fixture
def migrated_url(scratch_url: str) -> str:
    result = _run(scratch_url, "migrate")
    assert result.returncode == 0, result.stderr
    return scratch_url


def test_webhooks_run_once_reports_what_it_did(migrated_url: str) -> None:
    demo = _run(migrated_url, "demo-data")
    assert demo.returncode == 0, demo.stderr
    first = _run(migrated_url, "webhooks", "run-once", env={"WEBHOOKS_ENABLED": "false"})
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    # The demo's late milestones are recorded as events (no one subscribes yet, so nothing is sent).
    assert report["events"]["milestone.overdue"] > 0
    assert report["sent"] == 0 and report["events"]["deliveries"] == 0
    again = json.loads(_run(migrated_url, "webhooks", "run-once").stdout)
    assert again["events"] == {
        "milestone.overdue": 0,
        "service_request.breached": 0,
        "disclosure.published": 0,
        "deliveries": 0,
    }
