"""RecordCall, GetCall, ListCalls and GetStats through gRPC, on both databases."""

from __future__ import annotations

import grpc
import pytest

from freescaling.common.v1 import classification_pb2, records_pb2, routing_pb2, voting_pb2
from freescaling.learning.v1 import learning_pb2
from tests.learning.helpers import (
    TIMEOUT,
    at,
    expect_error,
    milli_sum,
    ratings_by_model,
    record,
    routed,
    scale_record,
    unique,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def test_majority_beats_minority_with_k16_and_the_sum_stays(stub):
    a, b, c = unique("a"), unique("b"), unique("c")
    reply = record(stub, scale_record({a: "YES", b: "YES", c: "NO"}, "YES"))
    assert not reply.duplicate
    moved = {ch.model: (ch.before, ch.after) for ch in reply.changes}
    # Equal ratings: expected score 0.5, so each game moves 16 * 0.5 = 8 points.
    assert moved == {a: (1500, 1508), b: (1500, 1508), c: (1500, 1484)}
    rows = ratings_by_model(stub)
    assert (rows[a].wins, rows[a].losses, rows[c].wins, rows[c].losses) == (1, 0, 0, 2)
    assert (rows[a].agreement_rate, rows[c].agreement_rate) == (1.0, 0.0)
    assert milli_sum(rows.values()) == 1_500_000 * len(rows)


def test_recording_the_same_call_twice_changes_nothing(stub):
    a, b = unique("a"), unique("b")
    rec = scale_record({a: "YES", b: "NO", unique("c"): "YES"}, "YES")
    first = record(stub, rec)
    before = ratings_by_model(stub)
    again = record(stub, rec)
    assert (first.duplicate, again.duplicate, list(again.changes)) == (False, True, [])
    after = ratings_by_model(stub)
    assert after == before
    assert after[a].calls == 1
    page = stub.ListCalls(records_pb2.ListCallsRequest(model=a), timeout=TIMEOUT)
    assert [c.call_id for c in page.calls] == [rec.call_id]


@pytest.mark.parametrize(
    ("votes", "answer"),
    [
        pytest.param({"x": "YES", "y": "YES", "z": "YES"}, "YES", id="unanimity"),
        pytest.param({"x": "YES", "y": "NO", "z": ""}, "", id="tie"),
        pytest.param({"x": "", "y": "", "z": ""}, "", id="all-abstain"),
    ],
)
def test_unanimity_ties_and_abstentions_move_nothing(stub, votes, answer):
    names = {m: unique(m) for m in votes}
    reply = record(stub, scale_record({names[m]: a for m, a in votes.items()}, answer))
    assert list(reply.changes) == []
    rows = ratings_by_model(stub)
    assert {rows[n].rating for n in names.values()} == {1500.0}
    assert {rows[n].calls for n in names.values()} == {1}


def test_abstainers_and_the_shadow_neither_win_nor_lose(stub):
    a, b, c, quiet, shadow = (unique(p) for p in "abcqs")
    rec = scale_record({a: "NO", b: "NO", c: "YES", quiet: ""}, "NO", shadow=(shadow, "YES"))
    reply = record(stub, rec)
    assert {ch.model for ch in reply.changes} == {a, b, c}
    rows = ratings_by_model(stub)
    assert (rows[quiet].rating, rows[quiet].calls, rows[quiet].wins) == (1500.0, 1, 0)
    assert (rows[shadow].rating, rows[shadow].calls) == (1500.0, 0)


def test_unknown_models_are_refused_unless_registered(stub):
    known = unique("known")
    record(stub, scale_record({known: "YES"}, "YES"))
    stranger = unique("stranger")
    rec = scale_record({known: "YES", stranger: "NO"}, "YES")
    expect_error(
        INVALID,
        f"vote for unknown model(s) '{stranger}': record it with register_models=true",
        stub.RecordCall,
        learning_pb2.RecordCallRequest(record=rec),
    )
    # Refused entirely: the call was not stored and a retry with registration works.
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        "is recorded",
        stub.GetCall,
        learning_pb2.GetCallRequest(call_id=rec.call_id),
    )
    # With registration the new model starts at 1500 beside the known one, in the same update.
    reply = record(stub, rec)
    assert not reply.duplicate
    moved = {ch.model: (ch.before, ch.after) for ch in reply.changes}
    assert moved == {known: (1500, 1508), stranger: (1500, 1492)}
    assert ratings_by_model(stub)[stranger].calls == 1


def test_record_calls_stores_a_batch_with_an_outcome_per_record(stub):
    a, b, c = unique("a"), unique("b"), unique("c")
    first = scale_record({a: "YES", b: "YES", c: "NO"}, "YES")
    record(stub, first)  # already stored: its copy in the batch is a duplicate
    second = scale_record({a: "NO", b: "YES", c: "YES"}, "YES")
    invalid = scale_record({a: "YES", b: "NO"}, "MAYBE")
    stranger = scale_record({a: "YES", unique("stranger"): "NO"}, "YES")
    reply = stub.RecordCalls(
        learning_pb2.RecordCallsRequest(records=[first, second, invalid, stranger, second]),
        timeout=TIMEOUT,
    )
    kinds = [o.WhichOneof("result") for o in reply.outcomes]
    assert kinds == ["recorded", "recorded", "error", "error", "recorded"]
    assert reply.outcomes[0].recorded.duplicate and reply.outcomes[4].recorded.duplicate
    assert not reply.outcomes[1].recorded.duplicate
    assert {ch.model for ch in reply.outcomes[1].recorded.changes} == {a, b, c}
    assert reply.outcomes[2].error.code == "INVALID_ARGUMENT"
    assert "record.answer 'MAYBE' is not one of record.answer_patterns" in (
        reply.outcomes[2].error.message
    )
    assert "vote for unknown model(s)" in reply.outcomes[3].error.message
    rows = ratings_by_model(stub)
    assert (rows[a].calls, rows[b].calls, rows[c].calls) == (2, 2, 2)
    assert milli_sum(rows.values()) == 1_500_000 * len(rows)
    stored = stub.GetCall(learning_pb2.GetCallRequest(call_id=second.call_id), timeout=TIMEOUT)
    assert [v.model for v in stored.votes] == [a, b, c]


def test_record_calls_bounds(stub):
    expect_error(
        INVALID, "no records to record", stub.RecordCalls, learning_pb2.RecordCallsRequest()
    )
    many = [scale_record({unique("a"): "YES"}, "YES") for _ in range(1001)]
    expect_error(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "1001 records in one request; at most 1000 are allowed: split it",
        stub.RecordCalls,
        learning_pb2.RecordCallsRequest(records=many, register_models=True),
    )


def _bad(**changes) -> records_pb2.CallRecord:
    rec = scale_record({unique("a"): "YES", unique("b"): "NO"}, "YES")
    for path, value in changes.items():
        target = rec
        *parents, leaf = path.split("__")
        for p in parents:
            target = target[int(p)] if p.isdigit() else getattr(target, p)
        setattr(target, leaf, value)
    return rec


@pytest.mark.parametrize(
    ("rec", "message"),
    [
        (_bad(call_id=""), "record.call_id is empty"),
        (_bad(usage__cost_usd=-0.5), "record.usage.cost_usd is -0.5; it must not be negative"),
        (_bad(votes__1__usage__cost_usd=-1.0), "record.votes[1].usage.cost_usd is -1.0"),
        (_bad(latency_s=-2.0), "record.latency_s is -2.0; it must not be negative"),
        (_bad(usage__total_tokens=-3), "record.usage.total_tokens is -3"),
        (_bad(kind=records_pb2.CALL_KIND_UNSPECIFIED), "it must be CALL_KIND_SCALE"),
        (_bad(answer="MAYBE"), "record.answer 'MAYBE' is not one of record.answer_patterns"),
        (_bad(votes__1__model=""), "record.votes[1].model is empty"),
    ],
    ids=[
        "empty-id",
        "neg-cost",
        "neg-vote-cost",
        "neg-latency",
        "neg-tokens",
        "no-kind",
        "answer-not-a-pattern",
        "vote-without-model",
    ],
)
def test_bad_records_are_invalid_argument(stub, rec, message):
    expect_error(
        INVALID,
        message,
        stub.RecordCall,
        learning_pb2.RecordCallRequest(record=rec, register_models=True),
    )


def test_shadow_on_the_panel_is_refused(stub):
    a = unique("a")
    rec = scale_record({a: "YES", unique("b"): "YES"}, "YES", shadow=(a, "NO"))
    expect_error(
        INVALID,
        "is also on the panel",
        stub.RecordCall,
        learning_pb2.RecordCallRequest(record=rec, register_models=True),
    )


def test_get_call_by_id_or_message_id(stub):
    rec = scale_record({unique("a"): "YES"}, "YES", message_id=unique("msg"), question="Is it?")
    record(stub, rec)
    by_id = stub.GetCall(learning_pb2.GetCallRequest(call_id=rec.call_id), timeout=TIMEOUT)
    by_message = stub.GetCall(learning_pb2.GetCallRequest(call_id=rec.message_id), timeout=TIMEOUT)
    assert by_id.question == by_message.question == "Is it?"
    assert by_id.HasField("created_at")
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        "no call with call_id or message_id 'nope' is recorded",
        stub.GetCall,
        learning_pb2.GetCallRequest(call_id="nope"),
    )
    expect_error(INVALID, "call_id is empty", stub.GetCall, learning_pb2.GetCallRequest())


def test_list_calls_pages_newest_first_without_gaps(stub):
    model = unique("paged")
    sent = []
    for i in range(7):
        rec = scale_record({model: "YES"}, "YES", created_at=at(2003, i % 4))
        record(stub, rec)
        sent.append(rec)
    seen, token, sizes = [], "", []
    while True:
        page = stub.ListCalls(
            records_pb2.ListCallsRequest(model=model, page_size=3, page_token=token),
            timeout=TIMEOUT,
        )
        sizes.append(len(page.calls))
        seen.extend(page.calls)
        token = page.next_page_token
        if not token:
            break
    assert sizes == [3, 3, 1]
    assert sorted(c.call_id for c in seen) == sorted(r.call_id for r in sent)
    stamps = [c.created_at.ToMicroseconds() for c in seen]
    assert stamps == sorted(stamps, reverse=True)
    expect_error(
        INVALID,
        "page_token is not a token this service issued",
        stub.ListCalls,
        records_pb2.ListCallsRequest(model=model, page_token="garbage!"),
    )
    first = stub.ListCalls(records_pb2.ListCallsRequest(model=model, page_size=3), timeout=TIMEOUT)
    expect_error(
        INVALID,
        "page_token was issued for other filters",
        stub.ListCalls,
        records_pb2.ListCallsRequest(model=unique("other"), page_token=first.next_page_token),
    )


def test_stats_totals_percentiles_and_distributions(stub):
    a, b, chat_model = unique("a"), unique("b"), unique("chat")
    simple, complex_ = classification_pb2.TIER_SIMPLE, classification_pb2.TIER_COMPLEX
    for i, latency in enumerate([1.0, 2.0, 3.0, 4.0]):
        rec = scale_record(
            {a: "YES", b: "YES"},
            "YES",
            created_at=at(2001, i),
            latency_s=latency,
            usage=voting_pb2.Usage(total_tokens=100, cost_usd=0.25),
            routing=routed(simple if i < 3 else complex_, "Open QA"),
        )
        rec.routing.routing_latency_ms = 2.0 * (i + 1)  # 2, 4, 6, 8
        record(stub, rec)
    chat = records_pb2.CallRecord(
        call_id=unique("chat"),
        kind=records_pb2.CALL_KIND_CHAT,
        model=chat_model,
        created_at=at(2001, 10),
        latency_s=10.0,
        error="provider timeout",
        routing=routed(complex_, "Code Generation"),
    )
    chat.routing.routing_latency_ms = 10.0
    record(stub, chat)
    named = records_pb2.CallRecord(
        call_id=unique("named"),
        kind=records_pb2.CALL_KIND_CHAT,
        model=chat_model,
        created_at=at(2071),
        routing=routing_pb2.RoutingInfo(
            method=routing_pb2.ROUTING_METHOD_NAMED, routing_latency_ms=500.0
        ),
    )
    record(stub, named)
    stats = stub.GetStats(records_pb2.StatsRequest(since=at(2001), until=at(2002)), timeout=TIMEOUT)
    assert (stats.total_calls, stats.total_tokens) == (5, 400)
    assert stats.total_cost_usd == pytest.approx(1.0)
    assert stats.mean_latency_s == pytest.approx(4.0)
    assert (stats.p50_latency_s, stats.p95_latency_s) == (3.0, 10.0)
    by_model = {x.key: x for x in stats.by_model}
    assert (by_model[a].calls, by_model[chat_model].calls, by_model[chat_model].errors) == (4, 1, 1)
    assert {x.key: x.calls for x in stats.by_tier} == {"simple": 3, "complex": 2}
    assert {x.key: x.calls for x in stats.by_task_type} == {"Open QA": 4, "Code Generation": 1}
    assert {x.key: x.share for x in stats.by_kind} == {"scale": 0.8, "chat": 0.2}
    # Routed calls only: a chat with a named model took no routing time to speak of.
    assert stats.mean_routing_latency_ms == pytest.approx(6.0)
    assert stats.routed_calls == 5
    unrouted = stub.GetStats(
        records_pb2.StatsRequest(since=at(2071), until=at(2072)), timeout=TIMEOUT
    )
    assert (unrouted.total_calls, unrouted.routed_calls, unrouted.mean_routing_latency_ms) == (
        1,
        0,
        0,
    )
    only_chat = stub.GetStats(
        records_pb2.StatsRequest(since=at(2001), until=at(2002), kind=records_pb2.CALL_KIND_CHAT),
        timeout=TIMEOUT,
    )
    assert only_chat.total_calls == 1
