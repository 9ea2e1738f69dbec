"""The dashboard's figures over recorded calls (GetOverview, GetRatingHistory, GetCalibration),
on SQLite and PostgreSQL: buckets, the saving against the best profiled model at its price,
accuracy from feedback, failures by cause, ratings over time, and the reliability diagram."""

from __future__ import annotations

import grpc
import pytest

from freescaling.common.v1 import ratings_pb2, records_pb2, routing_pb2, voting_pb2
from freescaling.learning.v1 import learning_pb2 as L
from tests.learning.helpers import TIMEOUT, at, expect_error, record, scale_record, unique


def t(second: int):
    """A time in the first minute of 2031 (second 60 is the next minute's first)."""
    stamp = at(2031)
    stamp.FromMicroseconds(stamp.ToMicroseconds() + second * 1_000_000)
    return stamp


def usage(prompt: int, completion: int, cost: float = 0.0) -> voting_pb2.Usage:
    return voting_pb2.Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cost_usd=cost,
    )


def priced_call(a: str, b: str, second: int, answer: str = "YES", confidence: float = 1.0):
    """A scale call of two models, each reading 100 tokens and writing 10, costing 0.01 in all."""
    rec = scale_record({a: answer, b: answer}, answer, created_at=t(second))
    for vote in rec.votes:
        vote.usage.CopyFrom(usage(100, 10, 0.005))
    rec.usage.CopyFrom(usage(200, 20, 0.01))
    rec.confidence = confidence
    return rec


@pytest.fixture(scope="module")
def models():
    return unique("dash-a"), unique("dash-b")


@pytest.fixture(scope="module")
def recorded(learning, models):
    """Ten calls in 2031 (the 10th failed with a provider error), two profiled models."""
    from freescaling.learning.v1 import learning_pb2_grpc

    stub = learning_pb2_grpc.LearningStub(learning.channel())
    a, b = models
    ids = []
    for i in range(9):
        rec = priced_call(a, b, second=i * 6, confidence=0.6 if i < 4 else 1.0)
        ids.append(record(stub, rec).call_id)
    failed = priced_call(a, b, second=59)
    failed.votes[1].error = "RateLimitError: 429 Too Many Requests from the provider"
    failed.votes[1].parsed_answer = ""
    failed.error = "UNAVAILABLE: ensemble at 127.0.0.1:1 is down"
    record(stub, failed)
    set_id = unique("dashset")
    stub.RecordClusterSet(routing_pb2.ClusterSet(id=set_id, k=1), timeout=TIMEOUT)
    for model, right in ((a, 9), (b, 6)):
        items = [
            L.GradedItem(item_id=f"d{i}", cluster_id=0, task_type="QA", correct=i < right)
            for i in range(10)
        ]
        stub.RecordValidation(
            L.RecordValidationRequest(model=model, cluster_set_id=set_id, items=items),
            timeout=TIMEOUT,
        )
    return ids


RANGE = {"since": t(0), "until": t(60)}


def test_the_overview_buckets_costs_and_prices_the_best_profiled_model(stub, recorded, models):
    a, b = models
    prices = {a: L.ModelPrice(input_cost_per_mtok=10, output_cost_per_mtok=100),
              b: L.ModelPrice(input_cost_per_mtok=1, output_cost_per_mtok=1)}  # fmt: skip
    reply = stub.GetOverview(L.GetOverviewRequest(buckets=6, prices=prices, **RANGE), TIMEOUT)
    assert (reply.baseline_model, reply.baseline_accuracy, reply.baseline_note) == (a, 0.9, "")
    assert [bk.calls for bk in reply.buckets] == [2, 2, 1, 2, 2, 1]
    assert reply.bucket_s == pytest.approx(10.0, abs=1e-5)
    assert [bk.errors for bk in reply.buckets] == [0, 0, 0, 0, 0, 1]
    assert sum(bk.tokens for bk in reply.buckets) == 10 * 220
    assert reply.cost_usd == pytest.approx(0.1)
    # One answer per call (100 in, 10 out; the failed call's one voter that answered) at a's
    # price: 100 * 10 / 1e6 + 10 * 100 / 1e6 = 0.002 per call.
    assert reply.baseline_cost_usd == pytest.approx(10 * 0.002)
    assert sum(bk.baseline_cost_usd for bk in reply.buckets) == pytest.approx(0.02)
    causes = {(e.model, e.cause): e.count for e in reply.errors}
    assert causes == {("", "UNAVAILABLE"): 1, (b, "RateLimitError"): 1}


def test_the_overview_has_the_totals_stats_has_over_the_same_range(stub, recorded, models):
    """The overview page reads its totals, percentiles, cache figures and calls by model from
    GetOverview alone; they are GetStats' over the same range."""
    a, b = models
    reply = stub.GetOverview(L.GetOverviewRequest(buckets=6, **RANGE), TIMEOUT)
    figures = stub.GetStats(records_pb2.StatsRequest(**RANGE), TIMEOUT)
    assert (reply.calls, reply.tokens, reply.routed_calls) == (
        figures.total_calls,
        figures.total_tokens,
        figures.routed_calls,
    )
    assert (reply.calls, reply.tokens) == (10, 10 * 220)
    assert (reply.p50_latency_s, reply.p95_latency_s) == (
        figures.p50_latency_s,
        figures.p95_latency_s,
    )
    assert reply.cache == figures.cache
    assert dict(reply.calls_by_model) == {m.key: m.calls for m in figures.by_model}
    assert dict(reply.calls_by_model) == {a: 10, b: 10}
    # Stats counts the failed vote as b's error (its `failed` flag, revision 0010).
    errors = {m.key: m.errors for m in figures.by_model}
    assert errors == {a: 0, b: 1}


def test_the_baseline_says_why_there_is_none(stub, recorded):
    reply = stub.GetOverview(L.GetOverviewRequest(**RANGE), TIMEOUT)
    assert reply.baseline_model == ""
    assert reply.baseline_note == "no profiled model is in the registry: its price is unknown"
    assert reply.baseline_cost_usd == 0.0
    empty = stub.GetOverview(L.GetOverviewRequest(since=at(2040), until=at(2040, 1)), TIMEOUT)
    assert (len(empty.buckets), empty.cost_usd, empty.feedback_calls) == (0, 0.0, 0)


def test_feedback_gives_accuracy_and_the_reliability_diagram(stub, recorded):
    # Calls 0-3 (confidence 0.6): two confirmed, two overridden; calls 4-5 (1.0): confirmed.
    for i, reaction in enumerate(["👍", "👍", "🟡", "🟡", "👍", "👍"]):
        stub.SubmitFeedback(
            ratings_pb2.FeedbackRequest(call_id=recorded[i], reaction=reaction), TIMEOUT
        )
    # The latest feedback counts: call 3 is confirmed after all.
    stub.SubmitFeedback(ratings_pb2.FeedbackRequest(call_id=recorded[3], reaction="👍"), TIMEOUT)
    reply = stub.GetOverview(L.GetOverviewRequest(**RANGE), TIMEOUT)
    assert (reply.feedback_calls, reply.correct_calls) == (6, 5)
    diagram = stub.GetCalibration(L.GetCalibrationRequest(**RANGE), TIMEOUT)
    assert len(diagram.bins) == 10 and diagram.calls == 6
    six, top = diagram.bins[6], diagram.bins[9]
    assert (six.low, six.high, six.calls, six.accuracy) == (0.6, 0.7, 4, 0.75)
    assert six.mean_confidence == pytest.approx(0.6)
    assert (top.calls, top.accuracy, top.mean_confidence) == (2, 1.0, 1.0)
    assert diagram.expected_calibration_error == pytest.approx(4 / 6 * 0.15)
    # /stats: accuracy at or above each confidence level, over the same calls.
    from freescaling.common.v1 import records_pb2

    stats = stub.GetStats(records_pb2.StatsRequest(**RANGE), TIMEOUT)
    levels = {round(c.min_confidence, 2): (c.calls, c.accuracy) for c in stats.by_confidence}
    assert levels[0.5] == (6, pytest.approx(5 / 6))
    assert levels[0.6] == (6, pytest.approx(5 / 6))
    assert levels[0.7] == levels[0.95] == (2, 1.0)
    expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        "bins is -1",
        stub.GetCalibration,
        L.GetCalibrationRequest(bins=-1),
    )


def test_the_rating_history_follows_every_change(stub, models):
    a, b = unique("hist-a"), unique("hist-b")
    first = record(stub, scale_record({a: "YES", b: "NO"}, "YES"))
    moved = {c.model: c.after for c in first.changes}
    reply = stub.GetRatingHistory(L.GetRatingHistoryRequest(models=[a, b], points=5), TIMEOUT)
    assert [s.model for s in reply.series] == sorted([a, b])
    for series in reply.series:
        assert len(series.points) == 5
        assert series.points[-1].rating == moved[series.model]
        times = [p.at.ToMicroseconds() for p in series.points]
        assert times == sorted(times)
    feedback = stub.SubmitFeedback(
        ratings_pb2.FeedbackRequest(call_id=first.call_id, reaction="🟡"), TIMEOUT
    )
    after = {c.model: c.after for c in feedback.changes}
    reply = stub.GetRatingHistory(L.GetRatingHistoryRequest(models=[a]), TIMEOUT)
    (series,) = reply.series
    assert len(series.points) == 30 and series.points[-1].rating == after[a]
    old = stub.GetRatingHistory(
        L.GetRatingHistoryRequest(models=[a], since=at(2001), until=at(2001, 9), points=2), TIMEOUT
    )
    assert [p.rating for p in old.series[0].points] == [1500.0, 1500.0]
