"""kpi facts: a covering index for the aggregates (metric, period, enterprise) with the values

Revision ID: c4e1a9d27b36
Revises: a7829c17f13c
Create Date: 2026-12-07 05:30:00

It replaces ix_kpi_facts_metric_period, a prefix of it. On PostgreSQL both steps run CONCURRENTLY, outside
the migration's transaction, so facts can still be written while the index builds (about 45 s for 12.5
million facts on two cores).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c4e1a9d27b36"
down_revision: str | None = "a7829c17f13c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW = "ix_kpi_facts_metric_period_enterprise"
OLD = "ix_kpi_facts_metric_period"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                NEW,
                "kpi_facts",
                ["metric_id", "year", "month", "enterprise_id"],
                postgresql_include=["ytd_value", "monthly_value"],
                postgresql_concurrently=True,
            )
            op.drop_index(OLD, table_name="kpi_facts", postgresql_concurrently=True)
    else:
        op.create_index(NEW, "kpi_facts", ["metric_id", "year", "month", "enterprise_id"])
        op.drop_index(OLD, table_name="kpi_facts")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(OLD, "kpi_facts", ["metric_id", "year", "month"], postgresql_concurrently=True)
            op.drop_index(NEW, table_name="kpi_facts", postgresql_concurrently=True)
    else:
        op.create_index(OLD, "kpi_facts", ["metric_id", "year", "month"])
        op.drop_index(NEW, table_name="kpi_facts")
