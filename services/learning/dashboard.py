"""The dashboard's figures, computed in the database over the call records: the overview by time
bucket (calls, tokens, cost, and what always asking the best single model would have cost),
accuracy where feedback exists, failures by cause, each rating's history, and confidence
against accuracy (a reliability diagram).

The best single model is the profiled model with the highest validation accuracy (on the
cluster set of its newest profile) among those the caller gives a price for; a call would
have cost it its tokens of one answer (recorded with the call) at that price. A call is right
when its latest feedback's label is its answer (👍 and 🅰️ confirm it; an override or 🅱️ names
another)."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.learning.v1 import learning_pb2
from services.learning import answer_cache
from services.learning.db import Database
from services.learning.errors import InvalidInput
from services.learning.ratings import micros, timestamp
from services.learning.records import time_filters
from services.learning.schema import (
    calls,
    profiles,
    rating_history,
    ratings,
    validation_results,
    votes,
)
from services.learning.stats import calls_by_model, latest_feedback, percentile

DEFAULT_BUCKETS, MAX_BUCKETS = 24, 500
DEFAULT_POINTS, MAX_POINTS = 30, 200
DEFAULT_BINS, MAX_BINS = 10, 50
# Failure groups returned at most: a page lists the frequent ones, not every rare message.
MAX_ERROR_GROUPS = 50
INITIAL_RATING = 1500.0


def _now_us() -> int:
    return time.time_ns() // 1000


def _count(value: int, default: int, most: int, name: str) -> int:
    if value < 0:
        raise InvalidInput(f"{name} is {value}; it must be 0 (default) or more")
    return min(value or default, most)


def _range(conn: Connection, request, table_time, has_since: bool, has_until: bool):
    """[since_us, until_us): the request's, else from the first recorded time to now."""
    until = micros(request.until, "until") if has_until else _now_us() + 1
    if has_since:
        since = micros(request.since, "since")
    else:
        since = conn.execute(sa.select(sa.func.min(table_time))).scalar()
        since = until if since is None else int(since)
    if since > until:
        raise InvalidInput("since is after until")
    return since, until


def best_single_model(conn: Connection, prices) -> tuple[str, float, str]:
    """(model, validation accuracy, note): the most accurate profiled model with a price."""
    rows = conn.execute(
        sa.select(
            validation_results.c.model,
            validation_results.c.cluster_set_id,
            sa.func.count(),
            sa.func.sum(sa.case((validation_results.c.correct, 1), else_=0)),
            profiles.c.updated_us,
        )
        .join(
            profiles,
            sa.and_(
                profiles.c.model == validation_results.c.model,
                profiles.c.cluster_set_id == validation_results.c.cluster_set_id,
            ),
        )
        .group_by(
            validation_results.c.model, validation_results.c.cluster_set_id, profiles.c.updated_us
        )
    ).all()
    newest: dict[str, tuple[int, float]] = {}
    for model, _set, n, correct, updated in rows:
        if n and (model not in newest or updated > newest[model][0]):
            newest[model] = (updated, (correct or 0) / n)
    if not newest:
        return "", 0.0, "no model is profiled yet (freescaling profile, or ProfileModels)"
    priced = {m: acc for m, (_, acc) in newest.items() if m in prices}
    if not priced:
        return "", 0.0, "no profiled model is in the registry: its price is unknown"

    def price(model: str) -> float:
        p = prices[model]
        return p.input_cost_per_mtok + p.output_cost_per_mtok

    model = min(priced, key=lambda m: (-priced[m], price(m), m))
    return model, priced[model], ""


def overview(
    db: Database, request: learning_pb2.GetOverviewRequest
) -> learning_pb2.GetOverviewResponse:
    n_buckets = _count(request.buckets, DEFAULT_BUCKETS, MAX_BUCKETS, "buckets")
    for alias, p in request.prices.items():
        if p.input_cost_per_mtok < 0 or p.output_cost_per_mtok < 0:
            raise InvalidInput(f"prices[{alias!r}] is negative")

    has_since, has_until = request.HasField("since"), request.HasField("until")

    def work(conn: Connection) -> learning_pb2.GetOverviewResponse:
        since, until = _range(conn, request, calls.c.created_us, has_since, has_until)
        out = learning_pb2.GetOverviewResponse()
        model, accuracy, note = best_single_model(conn, request.prices)
        out.baseline_model, out.baseline_accuracy, out.baseline_note = model, accuracy, note
        in_price = request.prices[model].input_cost_per_mtok if model else 0.0
        out_price = request.prices[model].output_cost_per_mtok if model else 0.0
        width = max(1, -(-(until - since) // n_buckets))
        out.bucket_s = width / 1e6
        where = [calls.c.created_us >= since, calls.c.created_us < until]
        bucket = ((calls.c.created_us - since) // width).label("bucket")
        rows = conn.execute(
            sa.select(
                bucket,
                sa.func.count(),
                sa.func.sum(calls.c.total_tokens),
                sa.func.sum(calls.c.cost_usd),
                sa.func.sum(calls.c.answer_prompt_tokens),
                sa.func.sum(calls.c.answer_completion_tokens),
                sa.func.sum(sa.case((calls.c.failed, 1), else_=0)),
                # Skips NULL: calls that were not routed.
                sa.func.count(calls.c.routing_latency_ms),
            )
            .where(*where)
            .group_by(bucket)
        ).all()
        by_bucket = {int(r[0]): r[1:] for r in rows}
        if by_bucket:
            for i in range(n_buckets):
                n, tokens, cost, prompt, completion, errors, routed = by_bucket.get(
                    i, (0, 0, 0.0, 0, 0, 0, 0)
                )
                # PostgreSQL sums bigints as numeric: Decimal, hence the int().
                baseline = (int(prompt or 0) * in_price + int(completion or 0) * out_price) / 1e6
                out.buckets.add(
                    start=timestamp(since + i * width),
                    calls=n,
                    tokens=int(tokens or 0),
                    cost_usd=float(cost or 0.0),
                    baseline_cost_usd=baseline,
                    errors=int(errors or 0),
                )
                out.cost_usd += float(cost or 0.0)
                out.baseline_cost_usd += baseline
                out.calls += n
                out.tokens += int(tokens or 0)
                out.routed_calls += routed
        # As Stats computes them: over the range asked, unbounded where it is not given.
        asked = time_filters(calls, request.since, request.until, has_since, has_until)
        out.p50_latency_s = percentile(conn, asked, out.calls, 0.50)
        out.p95_latency_s = percentile(conn, asked, out.calls, 0.95)
        out.cache.CopyFrom(
            answer_cache.lookup_stats(
                conn, since if has_since else None, until if has_until else None, 0
            )
        )
        out.calls_by_model.update(calls_by_model(conn, asked))
        latest = latest_feedback()
        judged, right = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.sum(sa.case((latest.c.label == calls.c.answer, 1), else_=0)),
            )
            .select_from(latest.join(calls, calls.c.seq == latest.c.call_seq))
            .where(*where)
        ).one()
        out.feedback_calls, out.correct_calls = judged, int(right or 0)
        whole = conn.execute(
            sa.select(
                sa.literal(""),
                calls.c.error_cause,
                sa.func.count(),
                sa.func.max(calls.c.created_us),
            )
            .where(*where, calls.c.error_cause > "")
            .group_by(calls.c.error_cause)
        ).all()
        single = conn.execute(
            sa.select(
                votes.c.model, votes.c.error_cause, sa.func.count(), sa.func.max(calls.c.created_us)
            )
            .join(calls, calls.c.seq == votes.c.call_seq)
            .where(*where, votes.c.error_cause > "")
            .group_by(votes.c.model, votes.c.error_cause)
        ).all()
        groups = sorted([*whole, *single], key=lambda r: (-r[2], r[0], r[1]))
        for model, cause, count, last in groups[:MAX_ERROR_GROUPS]:
            out.errors.add(model=model, cause=cause, count=count, last_at=timestamp(int(last)))
        return out

    return db.read(work)


def rating_history_of(
    db: Database, request: learning_pb2.GetRatingHistoryRequest
) -> learning_pb2.GetRatingHistoryResponse:
    """Each model's rating at evenly spaced instants: one indexed look-up per model and instant
    (the latest change at or before it), whatever the history's length."""
    points = _count(request.points, DEFAULT_POINTS, MAX_POINTS, "points")

    def work(conn: Connection) -> learning_pb2.GetRatingHistoryResponse:
        known = [m for (m,) in conn.execute(sa.select(ratings.c.model).order_by(ratings.c.model))]
        models = sorted(set(request.models)) if request.models else known
        since, until = _range(
            conn,
            request,
            rating_history.c.at_us,
            request.HasField("since"),
            request.HasField("until"),
        )
        step = (until - since) / max(1, points - 1)
        instants = [round(since + i * step) for i in range(points)]
        lookup = (
            sa.select(rating_history.c.rating_milli)
            .where(
                rating_history.c.model == sa.bindparam("m"),
                rating_history.c.at_us <= sa.bindparam("t"),
            )
            .order_by(rating_history.c.at_us.desc(), rating_history.c.id.desc())
            .limit(1)
        )
        out = learning_pb2.GetRatingHistoryResponse()
        for model in models:
            series = out.series.add(model=model)
            for at in instants:
                milli = conn.execute(lookup, {"m": model, "t": at}).scalar()
                rating = INITIAL_RATING if milli is None else milli / 1000
                series.points.add(at=timestamp(at), rating=rating)
        return out

    return db.read(work)


def calibration(
    db: Database, request: learning_pb2.GetCalibrationRequest
) -> learning_pb2.GetCalibrationResponse:
    n_bins = _count(request.bins, DEFAULT_BINS, MAX_BINS, "bins")
    where = [calls.c.confidence.is_not(None)]
    if request.HasField("since"):
        where.append(calls.c.created_us >= micros(request.since, "since"))
    if request.HasField("until"):
        where.append(calls.c.created_us < micros(request.until, "until"))
    # Portable binning (no floor() on every SQLite): the first upper bound the value is under.
    conf = calls.c.confidence
    bin_of = sa.case(
        *[(conf < (i + 1) / n_bins, i) for i in range(n_bins - 1)], else_=n_bins - 1
    ).label("bin")

    def work(conn: Connection) -> learning_pb2.GetCalibrationResponse:
        latest = latest_feedback()
        rows = conn.execute(
            sa.select(
                bin_of,
                sa.func.count(),
                sa.func.avg(conf),
                sa.func.sum(sa.case((latest.c.label == calls.c.answer, 1), else_=0)),
            )
            .select_from(latest.join(calls, calls.c.seq == latest.c.call_seq))
            .where(*where)
            .group_by(bin_of)
        ).all()
        found = {int(b): (n, float(mean or 0.0), int(right or 0)) for b, n, mean, right in rows}
        out = learning_pb2.GetCalibrationResponse()
        gap = 0.0
        for i in range(n_bins):
            n, mean, right = found.get(i, (0, 0.0, 0))
            accuracy = right / n if n else 0.0
            out.bins.add(
                low=i / n_bins,
                high=(i + 1) / n_bins,
                calls=n,
                mean_confidence=mean,
                accuracy=accuracy,
            )
            out.calls += n
            gap += n * abs(accuracy - mean)
        out.expected_calibration_error = gap / out.calls if out.calls else 0.0
        return out

    return db.read(work)
