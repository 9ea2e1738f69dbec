"""The centroids of a cluster set, kept by learning so that every classifier replica uses the
same set (before, each classifier kept them in a local file).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Additive and nullable: pods of the previous release keep working during a rollout.
    with op.batch_alter_table("cluster_sets") as batch:
        batch.add_column(sa.Column("centroids", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cluster_sets") as batch:
        batch.drop_column("centroids")
