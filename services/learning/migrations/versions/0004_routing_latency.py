"""Milliseconds each routed call spent choosing its model, for the mean routing latency in stats.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for calls that were not routed (a named model, a fixed panel) and for calls recorded
    # before this revision: the mean is over the routed calls only.
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("routing_latency_ms", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("routing_latency_ms")
