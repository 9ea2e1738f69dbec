"""Cluster sets, per-model profiles and graded validation results (UniRoute).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_sets",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("k", sa.Integer, nullable=False),
        sa.Column("dim", sa.Integer, nullable=False, server_default="0"),
        sa.Column("model_fingerprint", sa.String(200), nullable=False, server_default=""),
        sa.Column("seed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("sizes", sa.Text, nullable=False, server_default="[]"),
        sa.Column("fitted_us", sa.BigInteger, nullable=False),
        sa.Column("recorded_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "profiles",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column(
            "cluster_set_id", sa.String(200), sa.ForeignKey("cluster_sets.id"), primary_key=True
        ),
        sa.Column("routing_cost", sa.Float, nullable=False, server_default="0"),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "validation_results",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("cluster_set_id", sa.String(200), primary_key=True),
        sa.Column("item_id", sa.String(200), primary_key=True),
        sa.Column("trial", sa.Integer, primary_key=True),
        sa.Column("cluster_id", sa.Integer, nullable=False),
        sa.Column("task_type", sa.String(100), nullable=False, server_default=""),
        sa.Column("correct", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(
            ["model", "cluster_set_id"], ["profiles.model", "profiles.cluster_set_id"]
        ),
    )
    op.create_index(
        "ix_validation_set_item", "validation_results", ["cluster_set_id", "item_id", "trial"]
    )


def downgrade() -> None:
    for table in ("validation_results", "profiles", "cluster_sets"):
        op.drop_table(table)
