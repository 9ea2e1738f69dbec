"""A database created at the first schema revision, holding data, upgrades to the newest when
the service starts, and the data stays intact and usable through the API; both databases."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from freescaling.common.v1 import ratings_pb2, routing_pb2
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from services.learning.db import Database
from services.learning.schema import metadata
from tests.learning.conftest import PostgresDatabase, start_learning
from tests.learning.helpers import TIMEOUT, at, record, scale_record, schema_head
from tests.support.processes import ROOT


def _revision(url: str) -> str:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        db.close()


def test_first_revision_upgrades_to_head_with_data_intact(database_url, tmp_path):
    old = Database(database_url)
    assert old.upgrade("0001") == "0001"
    rec = scale_record(
        {"old-a": "YES", "old-b": "NO"}, "YES", call_id="old-call", created_at=at(2020)
    )
    with old.engine.begin() as conn:
        # Rows as revision 0001's code wrote them.
        conn.execute(
            sa.text(
                "INSERT INTO ratings (model, rating_milli, calls, wins, losses, parsed_votes,"
                " agreed_votes, feedback_count, created_us, updated_us) VALUES"
                " ('old-a', 1508000, 1, 1, 0, 1, 1, 0, 1, 1),"
                " ('old-b', 1492000, 1, 0, 1, 1, 0, 0, 1, 1)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO calls (call_id, kind, created_us, answer, outcome, record)"
                " VALUES ('old-call', 1, :t, 'YES', 1, :r)"
            ),
            {"t": rec.created_at.ToMicroseconds(), "r": rec.SerializeToString()},
        )
        seq = conn.execute(sa.text("SELECT seq FROM calls WHERE call_id = 'old-call'")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO votes (call_seq, position, model, role, parsed_answer) VALUES"
                " (:s, 0, 'old-a', 'panel', 'YES'), (:s, 1, 'old-b', 'panel', 'NO')"
            ),
            {"s": seq},
        )
    old.close()

    learning = start_learning(tmp_path, database_url)
    try:
        assert _revision(database_url) == schema_head()
        stub = learning_pb2_grpc.LearningStub(learning.channel())
        rows = {
            r.model: r
            for r in stub.GetRankings(ratings_pb2.RankingsRequest(), timeout=TIMEOUT).ratings
        }
        assert (rows["old-a"].rating, rows["old-b"].rating, rows["old-a"].wins) == (
            1508.0,
            1492.0,
            1,
        )
        # Revision 0005 counted the votes already recorded by how they ended.
        assert (rows["old-a"].answered, rows["old-a"].failed, rows["old-a"].cancelled) == (1, 0, 0)
        call = stub.GetCall(learning_pb2.GetCallRequest(call_id="old-call"), timeout=TIMEOUT)
        assert call == rec
        # Old calls still take feedback, old models still vote, and the new tables work.
        fb = stub.SubmitFeedback(
            ratings_pb2.FeedbackRequest(call_id="old-call", reaction="🟡"), timeout=TIMEOUT
        )
        assert {c.model for c in fb.changes} == {"old-a", "old-b"}
        assert not record(stub, scale_record({"old-a": "NO", "old-b": "NO"}, "NO")).duplicate
        stub.RecordClusterSet(routing_pb2.ClusterSet(id="after-upgrade", k=2), timeout=TIMEOUT)
    finally:
        assert learning.stop() == 0
    # Starting again on a database at head changes nothing.
    again = start_learning(tmp_path / "again", database_url)
    try:
        stub = learning_pb2_grpc.LearningStub(again.channel())
        assert stub.GetCall(learning_pb2.GetCallRequest(call_id="old-call"), timeout=TIMEOUT) == rec
    finally:
        assert again.stop() == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_schema_module_matches_the_migrations(backend, tmp_path):
    """schema.py (what the code queries) and the migrations (what databases hold) agree."""
    database = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        database = PostgresDatabase()
        url = database.url
    try:
        done = subprocess.run(
            [sys.executable, "-m", "services.learning.migrate"],
            cwd=ROOT,
            env={**os.environ, "FREESCALING_LEARNING_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert f"schema at revision {schema_head()}" in done.stdout
        db = Database(url)
        try:
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                assert compare_metadata(context, metadata) == []
        finally:
            db.close()
    finally:
        if database:
            database.drop()
