"""Validation items' prompt embeddings (shared by every model profiled on a cluster set), so
that profile routing can compare a prompt with its nearest validation items; and each graded
trial's parsed answer, for answer consistency across trials.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "validation_items",
        sa.Column(
            "cluster_set_id", sa.String(200), sa.ForeignKey("cluster_sets.id"), primary_key=True
        ),
        sa.Column("item_id", sa.String(200), primary_key=True),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
    )
    with op.batch_alter_table("validation_results") as batch:
        batch.add_column(sa.Column("answer", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("validation_results") as batch:
        batch.drop_column("answer")
    op.drop_table("validation_items")
