"""The answer cache: answers the gateway stores for a while, keyed by digests and scoped by a
digest of the API key (LookupAnswer, StoreAnswer), and every lookup, hit or miss, for Stats.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# An autoincrementing key: BIGINT on PostgreSQL, SQLite's INTEGER rowid alias (as schema.py).
Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # New tables only: pods of the previous release keep working during a rollout.
    op.create_table(
        "answer_cache",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("settings_key", sa.String(200), nullable=False),
        sa.Column("text_key", sa.String(200), nullable=False),
        sa.Column("embedder", sa.String(200), nullable=False, server_default=""),
        sa.Column("numbers", sa.Text, nullable=False, server_default=""),
        sa.Column("dim", sa.Integer, nullable=False, server_default="0"),
        sa.Column("embedding", sa.LargeBinary, nullable=True),
        sa.Column("answer", sa.LargeBinary, nullable=False),
        sa.Column("call_id", sa.String(200), nullable=False, server_default=""),
        sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_answer_cache_keys", "answer_cache", ["scope", "kind", "settings_key", "text_key"]
    )
    op.create_index("ix_answer_cache_expires", "answer_cache", ["expires_us"])
    op.create_table(
        "cache_lookups",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("hit", sa.Boolean, nullable=False),
        sa.Column("semantic", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("saved_cost_usd", sa.Float, nullable=False, server_default="0"),
    )
    op.create_index("ix_cache_lookups_at", "cache_lookups", ["at_us"])


def downgrade() -> None:
    op.drop_table("cache_lookups")
    op.drop_table("answer_cache")
