"""What the dashboard reads in SQL: each call's confidence, its tokens of one answer (for the
saving against always asking the best single model), the cause of a failed call or vote, an
index to find a call's feedback, and the history of every rating.

Calls and votes recorded before this revision get the new columns from their stored records.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# An autoincrementing key: BIGINT on PostgreSQL, SQLite's INTEGER rowid alias (as schema.py).
Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Rows read and written per round trip while filling the new columns.
CHUNK = 1000
OVERVIEW_COLUMNS = [
    "created_us",
    "failed",
    "total_tokens",
    "cost_usd",
    "answer_prompt_tokens",
    "answer_completion_tokens",
]


def _fill_calls(conn) -> None:
    from freescaling.common.v1 import records_pb2
    from services.learning.records import dashboard_columns

    last = -1
    update = sa.text(
        "UPDATE calls SET confidence = :confidence, answer_prompt_tokens = :answer_prompt_tokens,"
        " answer_completion_tokens = :answer_completion_tokens, error_cause = :error_cause"
        " WHERE seq = :seq"
    )
    while True:
        rows = conn.execute(
            sa.text("SELECT seq, record FROM calls WHERE seq > :last ORDER BY seq LIMIT :n"),
            {"last": last, "n": CHUNK},
        ).all()
        if not rows:
            return
        conn.execute(
            update,
            [
                {"seq": seq, **dashboard_columns(records_pb2.CallRecord.FromString(record))}
                for seq, record in rows
            ],
        )
        last = rows[-1][0]


def _fill_votes(conn) -> None:
    from services.learning.records import error_cause

    rows = conn.execute(
        sa.text("SELECT call_seq, position, error FROM votes WHERE error <> ''")
    ).all()
    if rows:
        conn.execute(
            sa.text(
                "UPDATE votes SET error_cause = :cause WHERE call_seq = :seq AND position = :pos"
            ),
            [{"seq": s, "pos": p, "cause": error_cause(e)} for s, p, e in rows],
        )


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        # NULL for calls without a vote's confidence (generate, chat).
        batch.add_column(sa.Column("confidence", sa.Float, nullable=True))
        batch.add_column(
            sa.Column("answer_prompt_tokens", sa.BigInteger, nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("answer_completion_tokens", sa.BigInteger, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("error_cause", sa.String(80), nullable=False, server_default=""))
    with op.batch_alter_table("votes") as batch:
        batch.add_column(sa.Column("error_cause", sa.String(80), nullable=False, server_default=""))
    # Failures by cause: the few failed votes and calls, found without a scan.
    op.create_index("ix_votes_error_cause", "votes", ["error_cause", "model", "call_seq"])
    op.create_index("ix_calls_error_cause", "calls", ["error_cause"])
    # The overview's buckets read this index alone, not the rows (which carry the record).
    op.create_index("ix_calls_overview", "calls", OVERVIEW_COLUMNS)
    # Latency percentiles walk this index instead of sorting every call.
    op.create_index("ix_calls_latency", "calls", ["latency_s"])
    op.create_index("ix_feedback_call", "feedback", ["call_seq", "id"])
    op.create_table(
        "rating_history",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("rating_milli", sa.BigInteger, nullable=False),
        sa.Index("ix_rating_history_model_at", "model", "at_us", "id"),
    )
    conn = op.get_bind()
    _fill_calls(conn)
    _fill_votes(conn)


def downgrade() -> None:
    op.drop_table("rating_history")
    op.drop_index("ix_feedback_call", "feedback")
    op.drop_index("ix_calls_latency", "calls")
    op.drop_index("ix_calls_overview", "calls")
    op.drop_index("ix_calls_error_cause", "calls")
    op.drop_index("ix_votes_error_cause", "votes")
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("error_cause")
    with op.batch_alter_table("calls") as batch:
        for name in ("error_cause", "answer_completion_tokens", "answer_prompt_tokens"):
            batch.drop_column(name)
        batch.drop_column("confidence")
