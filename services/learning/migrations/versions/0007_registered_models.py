"""Models registered at run time (the ensemble's RegisterModel), kept here so that every
ensemble replica loads them at start and when they change (before, they lived in one ensemble
process's memory and were lost at its restart).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new table only: pods of the previous release keep working during a rollout.
    op.create_table(
        "registered_models",
        sa.Column("alias", sa.String(200), primary_key=True),
        sa.Column("litellm_model", sa.String(400), nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("input_cost_per_mtok", sa.Float, nullable=False, server_default="0"),
        sa.Column("output_cost_per_mtok", sa.Float, nullable=False, server_default="0"),
        sa.Column("routing_cost", sa.Float, nullable=False, server_default="0"),
        sa.Column("thinking", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("api_base", sa.String(2000), nullable=False, server_default=""),
        sa.Column("api_key_env", sa.String(200), nullable=False, server_default=""),
        sa.Column("registered_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("registered_models")
