"""Call records, votes, ratings, feedback, panels and panel history.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("rating_milli", sa.BigInteger, nullable=False),
        sa.Column("calls", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("wins", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("losses", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("parsed_votes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("agreed_votes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("feedback_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "calls",
        sa.Column("seq", Serial, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(200), nullable=False, unique=True),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("kind", sa.SmallInteger, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("answer", sa.Text, nullable=False, server_default=""),
        sa.Column("outcome", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("model", sa.String(200), nullable=False, server_default=""),
        sa.Column("tier", sa.String(20), nullable=False, server_default=""),
        sa.Column("task_type", sa.String(100), nullable=False, server_default=""),
        sa.Column("complexity", sa.Float, nullable=True),
        sa.Column("cluster_id", sa.Integer, nullable=True),
        sa.Column("routing_method", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("latency_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("failed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("record", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_calls_created", "calls", ["created_us", "seq"])
    op.create_index("ix_calls_message_id", "calls", ["message_id"])
    op.create_table(
        "votes",
        sa.Column("call_seq", sa.BigInteger, sa.ForeignKey("calls.seq"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("model", sa.String(200), sa.ForeignKey("ratings.model"), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("parsed_answer", sa.Text, nullable=False, server_default=""),
        sa.Column("abstained", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("latency_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("total_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    )
    op.create_index("ix_votes_model", "votes", ["model", "call_seq"])
    op.create_table(
        "feedback",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("idem_key", sa.String(500), nullable=False, unique=True),
        sa.Column("call_seq", sa.BigInteger, sa.ForeignKey("calls.seq"), nullable=False),
        sa.Column("verdict", sa.SmallInteger, nullable=False),
        sa.Column("label", sa.Text, nullable=False, server_default=""),
        sa.Column("reaction", sa.String(20), nullable=False, server_default=""),
        sa.Column("source", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "panels",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("members", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "panel_changes",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("panel", sa.String(100), nullable=False),
        sa.Column("previous", sa.Text, nullable=False),
        sa.Column("current", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changed_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_panel_changes_panel", "panel_changes", ["panel", "id"])


def downgrade() -> None:
    for table in ("panel_changes", "panels", "feedback", "votes", "calls", "ratings"):
        op.drop_table(table)
