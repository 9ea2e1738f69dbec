"""Rating rows: create, lock in a consistent order, apply an ELO outcome, summarize."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.engine import Connection

from freescaling.common.v1 import ratings_pb2
from services.learning import elo
from services.learning.errors import InvalidInput
from services.learning.schema import rating_history, ratings


def now_us() -> int:
    return time.time_ns() // 1000


def micros(stamp: Timestamp, name: str) -> int:
    """A request's timestamp in microseconds; INVALID_ARGUMENT (naming the field) when it is
    outside what a Timestamp may hold (years 1-9999, nanos 0-999,999,999), where protobuf
    raises ValueError."""
    try:
        return stamp.ToMicroseconds()
    except ValueError as exc:
        raise InvalidInput(f"{name} is not a valid timestamp: {exc}") from None


def timestamp(us: int) -> Timestamp:
    ts = Timestamp()
    ts.FromMicroseconds(us)
    return ts


def insert_ignore(conn: Connection, table: sa.Table):
    """INSERT ... ON CONFLICT DO NOTHING in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def register(conn: Connection, models: Iterable[str]) -> None:
    """Create missing models at 1500 (in alias order, like every lock)."""
    stamp = now_us()
    rows = [
        {"model": m, "rating_milli": elo.INITIAL_MILLI, "created_us": stamp, "updated_us": stamp}
        for m in sorted(set(models))
    ]
    if rows:
        conn.execute(insert_ignore(conn, ratings), rows)


def lock(conn: Connection, models: Iterable[str], create: Iterable[str] = ()) -> dict[str, int]:
    """Current ratings of `models`, their rows locked until commit; the models of `create`
    that have no row yet are created at 1500 first. The rows that exist are locked first, in
    alias order, so writers of known models never wait for each other in a cycle, and the usual
    call (every model known) costs one statement. Then the missing rows are created and locked,
    in alias order too; two writers creating models can still meet in a cycle, which PostgreSQL
    detects and `Database.write` retries. SQLite needs no row lock: its writers hold the
    database lock from BEGIN IMMEDIATE."""
    current = _lock(conn, models)
    missing = set(create) - set(current)
    if missing:
        register(conn, missing)
        current.update(_lock(conn, missing))
    return current


def _lock(conn: Connection, models: Iterable[str]) -> dict[str, int]:
    names = sorted(set(models))
    if not names:
        return {}
    query = (
        sa.select(ratings.c.model, ratings.c.rating_milli)
        .where(ratings.c.model.in_(names))
        .order_by(ratings.c.model)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {m: r for m, r in conn.execute(query)}


_UPDATE = (
    ratings.update()
    .where(ratings.c.model == sa.bindparam("m"))
    .values(
        rating_milli=ratings.c.rating_milli + sa.bindparam("d"),
        calls=ratings.c.calls + sa.bindparam("c"),
        wins=ratings.c.wins + sa.bindparam("w"),
        losses=ratings.c.losses + sa.bindparam("lo"),
        parsed_votes=ratings.c.parsed_votes + sa.bindparam("pv"),
        agreed_votes=ratings.c.agreed_votes + sa.bindparam("av"),
        feedback_count=ratings.c.feedback_count + sa.bindparam("fb"),
        answered=ratings.c.answered + sa.bindparam("an"),
        abstained=ratings.c.abstained + sa.bindparam("ab"),
        failed=ratings.c.failed + sa.bindparam("fa"),
        cancelled=ratings.c.cancelled + sa.bindparam("ca"),
        updated_us=sa.bindparam("t"),
    )
)
_COUNTERS = ("d", "c", "w", "lo", "pv", "av", "fb", "an", "ab", "fa", "ca")


def vote_outcome(vote) -> str:
    """How a panel vote ended, as its counter: answered (a parsed answer), abstained (an answer
    with no pattern in it), failed (an error) or cancelled (stopped once the majority was
    certain, before it answered)."""
    if vote.parsed_answer and not (vote.abstained or vote.error or vote.cancelled):
        return "an"
    if vote.abstained:
        return "ab"
    if vote.error:
        return "fa"
    return "ca"


class Totals:
    """Deltas and counters of many events, applied with one UPDATE per model."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, int]] = {}
        # Each moved rating as the events left it, for the rating history.
        self.after: dict[str, int] = {}

    def _row(self, model: str) -> dict[str, int]:
        row = self.rows.get(model)
        if row is None:
            row = self.rows[model] = dict.fromkeys(_COUNTERS, 0)
        return row

    def add(
        self, current: dict[str, int], outcome: elo.Outcome, feedback: bool = False
    ) -> list[ratings_pb2.RatingChange]:
        """Add one event's outcome; move `current` on; return the event's changes."""
        changes = []
        for m in outcome.models:
            row = self._row(m)
            d = outcome.deltas.get(m, 0)
            row["w"] += outcome.wins.get(m, 0)
            row["lo"] += outcome.losses.get(m, 0)
            if m in outcome.deltas and feedback:
                row["fb"] += 1
            if d:
                row["d"] += d
                changes.append(
                    ratings_pb2.RatingChange(
                        model=m, before=current[m] / 1000, after=(current[m] + d) / 1000
                    )
                )
                current[m] += d
                self.after[m] = current[m]
        return changes

    def count(self, votes, answers: Mapping[str, str], majority: str) -> None:
        """A scale call's counters: a call per panel vote, split by how the vote ended; parsed
        and agreeing votes when the call had a majority."""
        for v in votes:
            row = self._row(v.model)
            row["c"] += 1
            row[vote_outcome(v)] += 1
        if majority:
            for m, a in answers.items():
                row = self._row(m)
                row["pv"] += 1
                row["av"] += a == majority

    def write(self, conn: Connection) -> None:
        if self.rows:
            stamp = now_us()
            conn.execute(
                _UPDATE, [{"m": m, "t": stamp, **row} for m, row in sorted(self.rows.items())]
            )
            if self.after:
                conn.execute(
                    rating_history.insert(),
                    [
                        {"model": m, "at_us": stamp, "rating_milli": r}
                        for m, r in sorted(self.after.items())
                    ],
                )


def row_to_rating(row) -> ratings_pb2.ModelRating:
    return ratings_pb2.ModelRating(
        model=row.model,
        rating=row.rating_milli / 1000,
        calls=row.calls,
        wins=row.wins,
        losses=row.losses,
        agreement_rate=row.agreed_votes / row.parsed_votes if row.parsed_votes else 0.0,
        feedback_count=row.feedback_count,
        updated_at=timestamp(row.updated_us),
        answered=row.answered,
        abstained=row.abstained,
        failed=row.failed,
        cancelled=row.cancelled,
    )


_SORT_KEYS = {
    ratings_pb2.RANKING_SORT_UNSPECIFIED: lambda r: r.rating,
    ratings_pb2.RANKING_SORT_RATING: lambda r: r.rating,
    ratings_pb2.RANKING_SORT_CALLS: lambda r: r.calls,
    ratings_pb2.RANKING_SORT_AGREEMENT: lambda r: r.agreement_rate,
    ratings_pb2.RANKING_SORT_WINS: lambda r: r.wins,
    ratings_pb2.RANKING_SORT_ANSWERED: lambda r: r.answered,
}


def all_ratings(conn: Connection) -> list[ratings_pb2.ModelRating]:
    rows = conn.execute(sa.select(ratings).order_by(ratings.c.model))
    return [row_to_rating(r) for r in rows]


def rankings(conn: Connection, request: ratings_pb2.RankingsRequest) -> ratings_pb2.Rankings:
    """The ELO summary: numeric sorts descending unless `ascending`, the alias sort always
    A to Z; ties break by alias. `min_calls` counts answered votes."""
    rows = [r for r in all_ratings(conn) if r.answered >= request.min_calls]
    if request.sort_by == ratings_pb2.RANKING_SORT_MODEL:
        rows.sort(key=lambda r: r.model)
    else:
        if request.sort_by not in _SORT_KEYS:
            raise InvalidInput(f"unknown sort_by {request.sort_by}")
        key = _SORT_KEYS[request.sort_by]
        rows.sort(key=lambda r: r.model)
        rows.sort(key=key, reverse=not request.ascending)
    if request.limit > 0:
        rows = rows[: request.limit]
    return ratings_pb2.Rankings(ratings=rows)
