"""Statistics over call records: totals, cost, latency percentiles, the mean routing latency,
and distributions by model, tier, task type and kind, computed in the database; and the answer
cache's lookups over the same range."""

from __future__ import annotations

import math

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import records_pb2
from services.learning import answer_cache, ratings
from services.learning.db import Database
from services.learning.errors import InvalidInput
from services.learning.records import time_filters
from services.learning.schema import calls, feedback, votes

# The confidence levels /stats reports accuracy above.
CONFIDENCE_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def latest_feedback():
    """The latest feedback of each call: (call_seq, label)."""
    latest = (
        sa.select(sa.func.max(feedback.c.id).label("id")).group_by(feedback.c.call_seq).subquery()
    )
    return (
        sa.select(feedback.c.call_seq, feedback.c.label)
        .join(latest, latest.c.id == feedback.c.id)
        .subquery()
    )


def percentile(conn: Connection, where: list, total: int, fraction: float) -> float:
    """Nearest-rank percentile of call latency (no sort in Python, whatever the table size)."""
    if total == 0:
        return 0.0
    offset = max(0, min(total - 1, math.ceil(fraction * total) - 1))
    value = conn.execute(
        sa.select(calls.c.latency_s)
        .where(*where)
        .order_by(calls.c.latency_s)
        .offset(offset)
        .limit(1)
    ).scalar()
    return float(value or 0.0)


def _buckets(rows, total: int) -> list[records_pb2.StatsBucket]:
    buckets = [
        records_pb2.StatsBucket(
            key=str(key),
            calls=n,
            share=n / total if total else 0.0,
            cost_usd=float(cost or 0.0),
            tokens=int(tokens or 0),
            mean_latency_s=float(latency or 0.0),
            errors=int(errors or 0),
        )
        for key, n, cost, tokens, latency, errors in rows
    ]
    buckets.sort(key=lambda b: (-b.calls, b.key))
    return buckets


def _by_confidence(conn: Connection, where: list) -> list[records_pb2.ConfidenceLevel]:
    """Scale calls with feedback at or above each level, and how often they were right (the
    latest feedback's label is the answer)."""
    latest = latest_feedback()
    right = latest.c.label == calls.c.answer
    columns = []
    for level in CONFIDENCE_LEVELS:
        above = calls.c.confidence >= level
        columns += [
            sa.func.sum(sa.case((above, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(above, right), 1), else_=0)),
        ]
    row = conn.execute(
        sa.select(*columns)
        .select_from(latest.join(calls, calls.c.seq == latest.c.call_seq))
        .where(*where, calls.c.kind == records_pb2.CALL_KIND_SCALE, calls.c.answer != "")
    ).one()
    out = []
    for i, level in enumerate(CONFIDENCE_LEVELS):
        n, ok = int(row[2 * i] or 0), int(row[2 * i + 1] or 0)
        out.append(
            records_pb2.ConfidenceLevel(min_confidence=level, calls=n, accuracy=ok / n if n else 0)
        )
    return out


def _panel_votes(where: list) -> list:
    """The panel votes of the scale calls that `where` (on calls) selects: a semi-join, which
    reads ix_votes_panel alone and probes the calls' keys found by ix_calls_kind."""
    scale = sa.select(calls.c.seq).where(*where, calls.c.kind == records_pb2.CALL_KIND_SCALE)
    return [votes.c.role == "panel", votes.c.call_seq.in_(scale)]


def _single(where: list) -> list:
    return [*where, calls.c.model != "", calls.c.kind != records_pb2.CALL_KIND_SCALE]


def by_model(conn: Connection, where: list) -> list[list]:
    """[model, calls, cost, tokens, mean latency, errors] of each model over the calls `where`
    selects. Scale calls count for each panel model (with that model's own usage); generate and
    chat calls count for their winning or answering model."""
    panel = conn.execute(
        sa.select(
            votes.c.model,
            sa.func.count(sa.distinct(votes.c.call_seq)),
            sa.func.sum(votes.c.cost_usd),
            sa.func.sum(votes.c.total_tokens),
            sa.func.avg(votes.c.latency_s),
            sa.func.sum(sa.case((votes.c.failed, 1), else_=0)),
        )
        .where(*_panel_votes(where))
        .group_by(votes.c.model)
    ).all()
    single = conn.execute(
        sa.select(
            calls.c.model,
            sa.func.count(),
            sa.func.sum(calls.c.cost_usd),
            sa.func.sum(calls.c.total_tokens),
            sa.func.avg(calls.c.latency_s),
            sa.func.sum(sa.case((calls.c.failed, 1), else_=0)),
        )
        .where(*_single(where))
        .group_by(calls.c.model)
    ).all()
    merged: dict[str, list] = {}
    for key, n, c, t, lat, err in [*panel, *single]:
        if key not in merged:
            merged[key] = [key, 0, 0.0, 0, 0.0, 0]
        entry = merged[key]
        entry[4] = (entry[4] * entry[1] + float(lat or 0) * n) / (entry[1] + n)
        entry[1] += n
        entry[2] += float(c or 0)
        entry[3] += int(t or 0)
        entry[5] += int(err or 0)
    return list(merged.values())


def calls_by_model(conn: Connection, where: list) -> dict[str, int]:
    """Calls of each model (by_model's counts alone, which read fewer columns)."""
    panel = conn.execute(
        sa.select(votes.c.model, sa.func.count(sa.distinct(votes.c.call_seq)))
        .where(*_panel_votes(where))
        .group_by(votes.c.model)
    ).all()
    single = conn.execute(
        sa.select(calls.c.model, sa.func.count()).where(*_single(where)).group_by(calls.c.model)
    ).all()
    out: dict[str, int] = {}
    for model, n in [*panel, *single]:
        out[model] = out.get(model, 0) + n
    return out


def stats(db: Database, request: records_pb2.StatsRequest) -> records_pb2.Stats:
    where = time_filters(
        calls, request.since, request.until, request.HasField("since"), request.HasField("until")
    )
    if request.kind:
        if request.kind not in records_pb2.CallKind.values():
            raise InvalidInput(f"kind {request.kind} is not a CallKind")
        where.append(calls.c.kind == request.kind)
    failed = sa.func.sum(sa.case((calls.c.failed, 1), else_=0))
    since_us = ratings.micros(request.since, "since") if request.HasField("since") else None
    until_us = ratings.micros(request.until, "until") if request.HasField("until") else None

    def grouped(conn: Connection, column, text: bool = True) -> list:
        return conn.execute(
            sa.select(
                column,
                sa.func.count(),
                sa.func.sum(calls.c.cost_usd),
                sa.func.sum(calls.c.total_tokens),
                sa.func.avg(calls.c.latency_s),
                failed,
            )
            .where(*where, *([column != ""] if text else []))
            .group_by(column)
        ).all()

    def work(conn: Connection) -> records_pb2.Stats:
        total, cost, tokens, mean, routed, routing_ms = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.sum(calls.c.cost_usd),
                sa.func.sum(calls.c.total_tokens),
                sa.func.avg(calls.c.latency_s),
                # Both skip NULL: calls that were not routed.
                sa.func.count(calls.c.routing_latency_ms),
                sa.func.avg(calls.c.routing_latency_ms),
            ).where(*where)
        ).one()
        merged = by_model(conn, where)
        kinds = [
            (records_pb2.CallKind.Name(k).removeprefix("CALL_KIND_").lower(), *rest)
            for k, *rest in grouped(conn, calls.c.kind, text=False)
        ]
        return records_pb2.Stats(
            total_calls=total,
            total_cost_usd=float(cost or 0.0),
            total_tokens=int(tokens or 0),
            mean_latency_s=float(mean or 0.0),
            p50_latency_s=percentile(conn, where, total, 0.50),
            p95_latency_s=percentile(conn, where, total, 0.95),
            by_model=_buckets(merged, total),
            by_tier=_buckets(grouped(conn, calls.c.tier), total),
            by_task_type=_buckets(grouped(conn, calls.c.task_type), total),
            by_kind=_buckets(kinds, total),
            mean_routing_latency_ms=float(routing_ms or 0.0),
            routed_calls=routed,
            cache=answer_cache.lookup_stats(conn, since_us, until_us, request.kind),
            by_confidence=_by_confidence(conn, where),
        )

    return db.read(work)
