"""change log backfill for the new feeds

Revision ID: 3bc67d229ac4
Revises: fe8d42a75a5e
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.models.types

# Resources that got a change feed in this release: their existing rows each get one change, so a mirror
# built from the feed alone starts complete (as the first feeds' migration did for theirs).
BACKFILL = (
    ("zone_area_versions", "zone_area_versions"),
    ("escalations", "escalations"),
    ("milestone_templates", "milestone_templates"),
    ("metrics", "metrics"),
    ("service_officer_assignments", "service_officer_assignments"),
    ("apartment_batches", "apartment_batches"),
    ("apartment_units", "apartment_units"),
    ("departments", "departments"),
    ("service_types", "service_types"),
    ("visits", "visits"),
    ("consultation_events", "consultation_events"),
    ("apartment_allocations", "apartment_allocations"),
    ("household_registrations", "household_registrations"),
    ("talent_green_cards", "talent_green_cards"),
    ("disclosure_requests", "disclosure_requests"),
    ("disclosure_remedies", "disclosure_remedies"),
    ("meetings", "meetings"),
    ("major_decisions", "major_decisions"),
)
revision: str = "3bc67d229ac4"
down_revision: str | None = "fe8d42a75a5e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    changes = sa.table(
        "changes",
        sa.column("txid"),
        sa.column("resource"),
        sa.column("entity_id"),
        sa.column("changed_at", app.models.types.UTCDateTime()),
    )
    now = sa.literal(datetime.now(UTC), app.models.types.UTCDateTime())
    for resource, table_name in BACKFILL:
        source = sa.table(table_name, sa.column("id"))
        rows = sa.select(sa.literal(0), sa.literal(resource), source.c.id, now).order_by(source.c.id)
        op.execute(changes.insert().from_select(["txid", "resource", "entity_id", "changed_at"], rows))


def downgrade() -> None:
    changes = sa.table("changes", sa.column("resource"))
    op.execute(changes.delete().where(changes.c.resource.in_([resource for resource, _ in BACKFILL])))
