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
from services.learning.schema import ratings


def now_us() -> int:
    return time.time_ns() // 1000


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


def lock(conn: Connection, models: Iterable[str]) -> dict[str, int]:
    """Current ratings of `models`, their rows locked until commit. Rows are always locked in
    alias order, so two writers never wait for each other in a cycle (no deadlock); SQLite
    needs no row lock because its writers hold the database lock from BEGIN IMMEDIATE."""
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
        updated_us=sa.bindparam("t"),
    )
)


def apply(
    conn: Connection,
    before: Mapping[str, int],
    outcome: elo.Outcome,
    *,
    calls: Mapping[str, int] | None = None,
    parsed: Mapping[str, int] | None = None,
    agreed: Mapping[str, int] | None = None,
    feedback: bool = False,
) -> list[ratings_pb2.RatingChange]:
    """Add the outcome's deltas and the counters; return the rating changes (moved ones only)."""
    calls, parsed, agreed = calls or {}, parsed or {}, agreed or {}
    models = sorted(set(outcome.models) | set(calls) | set(parsed))
    stamp = now_us()
    rows = [
        {
            "m": m,
            "d": outcome.deltas.get(m, 0),
            "c": calls.get(m, 0),
            "w": outcome.wins.get(m, 0),
            "lo": outcome.losses.get(m, 0),
            "pv": parsed.get(m, 0),
            "av": agreed.get(m, 0),
            "fb": 1 if feedback and m in outcome.deltas else 0,
            "t": stamp,
        }
        for m in models
    ]
    if rows:
        conn.execute(_UPDATE, rows)
    return [
        ratings_pb2.RatingChange(
            model=m, before=before[m] / 1000, after=(before[m] + outcome.deltas[m]) / 1000
        )
        for m in sorted(outcome.deltas)
        if outcome.deltas[m]
    ]


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
    )


_SORT_KEYS = {
    ratings_pb2.RANKING_SORT_UNSPECIFIED: lambda r: r.rating,
    ratings_pb2.RANKING_SORT_RATING: lambda r: r.rating,
    ratings_pb2.RANKING_SORT_CALLS: lambda r: r.calls,
    ratings_pb2.RANKING_SORT_AGREEMENT: lambda r: r.agreement_rate,
    ratings_pb2.RANKING_SORT_WINS: lambda r: r.wins,
}


def all_ratings(conn: Connection) -> list[ratings_pb2.ModelRating]:
    rows = conn.execute(sa.select(ratings).order_by(ratings.c.model))
    return [row_to_rating(r) for r in rows]


def rankings(conn: Connection, request: ratings_pb2.RankingsRequest) -> ratings_pb2.Rankings:
    """The ELO summary: numeric sorts descending unless `ascending`, the alias sort always
    A to Z; ties break by alias."""
    rows = [r for r in all_ratings(conn) if r.calls >= request.min_calls]
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
