"""Ratings count panel votes by how they ended: answered, abstained, failed, cancelled.

Until now `calls` counted every panel seat, so a model whose calls all failed or were cancelled
reached evolution's threshold without ever answering. The new counters are filled from the
votes already recorded (a panel vote with a parsed answer answered; one flagged abstained
abstained; one with an error failed; the rest were cancelled before they answered).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COUNTERS = {
    "answered": "v.parsed_answer <> ''",
    "abstained": "v.parsed_answer = '' AND v.abstained",
    "failed": "v.parsed_answer = '' AND NOT v.abstained AND v.error <> ''",
    "cancelled": "v.parsed_answer = '' AND NOT v.abstained AND v.error = ''",
}


def upgrade() -> None:
    for name in COUNTERS:
        op.add_column("ratings", sa.Column(name, sa.BigInteger, nullable=False, server_default="0"))
    for name, condition in COUNTERS.items():
        op.execute(
            f"UPDATE ratings SET {name} = (SELECT COUNT(*) FROM votes v WHERE "
            f"v.model = ratings.model AND v.role = 'panel' AND {condition})"
        )


def downgrade() -> None:
    with op.batch_alter_table("ratings") as batch:
        for name in COUNTERS:
            batch.drop_column(name)
