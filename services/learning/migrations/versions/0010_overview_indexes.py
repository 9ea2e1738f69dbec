"""What makes the overview and Stats read indexes instead of rows at 100,000 calls: a vote's
failure as a flag (so that the calls-by-model figures read one covering index of the votes,
not each vote's row), that index, an index of the calls by kind and time, and the overview's
index of the calls extended with the latencies (totals and routed calls read it alone), and the
latency index with the time and kind (percentiles over a range stay in the index).

Votes recorded before this revision get the flag from their error. A pod of the previous
release still writes votes during a rollout; its failed votes keep the flag's default (false)
and count as answered in Stats' per-model errors until they age out of the range asked.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_OVERVIEW_COLUMNS = [
    "created_us",
    "failed",
    "total_tokens",
    "cost_usd",
    "answer_prompt_tokens",
    "answer_completion_tokens",
]
OVERVIEW_COLUMNS = [*OLD_OVERVIEW_COLUMNS, "latency_s", "routing_latency_ms"]
PANEL_COLUMNS = ["role", "model", "call_seq", "cost_usd", "total_tokens", "latency_s", "failed"]
KIND_COLUMNS = ["kind", "created_us", "model", "seq"]
# Percentiles walk this index in latency order; with the time and kind in it, a range (the
# Models view asks for the last hour) is filtered in the index, not call by call in the rows.
LATENCY_COLUMNS = ["latency_s", "created_us", "kind"]


def upgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        batch.add_column(sa.Column("failed", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute(sa.text("UPDATE votes SET failed = TRUE WHERE error <> ''"))
    op.create_index("ix_votes_panel", "votes", PANEL_COLUMNS)
    op.create_index("ix_calls_kind", "calls", KIND_COLUMNS)
    op.drop_index("ix_calls_overview", "calls")
    op.create_index("ix_calls_overview", "calls", OVERVIEW_COLUMNS)
    op.drop_index("ix_calls_latency", "calls")
    op.create_index("ix_calls_latency", "calls", LATENCY_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_calls_latency", "calls")
    op.create_index("ix_calls_latency", "calls", ["latency_s"])
    op.drop_index("ix_calls_overview", "calls")
    op.create_index("ix_calls_overview", "calls", OLD_OVERVIEW_COLUMNS)
    op.drop_index("ix_calls_kind", "calls")
    op.drop_index("ix_votes_panel", "votes")
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("failed")
