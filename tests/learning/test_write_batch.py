"""A batch written in one transaction, and item by item when the database refuses it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.learning.db import Database, write_batch
from services.learning.errors import Unavailable


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'batch.db'}")
    database.write(lambda conn: conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)")))
    yield database
    database.close()


def _insert(ids):
    def work(conn):
        for i in ids:
            conn.execute(sa.text("INSERT INTO t (id) VALUES (:i)"), {"i": i})
        return {i: f"stored {i}" for i in ids}

    return work


def _stored(db) -> list[int]:
    return db.read(
        lambda conn: [r[0] for r in conn.execute(sa.text("SELECT id FROM t ORDER BY id"))]
    )


def test_a_batch_the_database_takes_is_one_transaction(db):
    done = write_batch(db, _insert([1, 2]), [1, 2], lambda i: "alone", str, "refused")
    assert done == {1: "stored 1", 2: "stored 2"}
    assert _stored(db) == [1, 2]


def test_a_refused_batch_is_written_item_by_item_and_only_the_one_at_fault_fails(db):
    db.write(_insert([2]))
    # 2 is stored already: the batch rolls back, 1 and 3 go in alone, 2 fails alone.
    done = write_batch(
        db,
        _insert([1, 2, 3]),
        [1, 2, 3],
        lambda i: db.write(_insert([i]))[i],
        lambda i: f"item {i}",
        "the database refused it; see the log",
    )
    assert done[1] == "stored 1" and done[3] == "stored 3"
    assert isinstance(done[2], Unavailable) and "refused it" in str(done[2])
    assert _stored(db) == [1, 2, 3]


def test_a_refused_batch_of_one_raises(db):
    db.write(_insert([1]))
    with pytest.raises(sa.exc.IntegrityError):
        write_batch(db, _insert([1]), [1], lambda i: "alone", str, "refused")
