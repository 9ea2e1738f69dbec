"""AttachShadows through gRPC on both databases: a shadow challenger that answered after its
call was recorded joins the call's record, once, and 🅰️/🅱️ feedback then applies to it."""

from __future__ import annotations

import threading

import grpc
import pytest

from freescaling.common.v1 import ratings_pb2, records_pb2, voting_pb2
from freescaling.learning.v1 import learning_pb2
from tests.learning.helpers import (
    TIMEOUT,
    expect_error,
    ratings_by_model,
    record,
    scale_record,
    unique,
)

L = learning_pb2


def late(call_id: str, model: str, answer: str = "NO", **vote) -> voting_pb2.ShadowVote:
    return voting_pb2.ShadowVote(
        call_id=call_id,
        vote=voting_pb2.Vote(
            model=model,
            parsed_answer=answer,
            raw_output=f"Answer: {answer}",
            latency_s=4.5,
            usage=voting_pb2.Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15,
                                   cost_usd=0.25),
            **vote,
        ),
        calls_made=1,
    )  # fmt: skip


def attach(stub, *shadows: voting_pb2.ShadowVote, register: bool = True):
    reply = stub.AttachShadows(
        L.AttachShadowsRequest(shadows=list(shadows), register_models=register), timeout=TIMEOUT
    )
    return list(reply.outcomes)


@pytest.fixture
def pending(stub):
    """A recorded 2-1 call (a, b said YES, c NO) whose shadow s was still answering."""
    a, b, c, s = (unique(p) for p in "abcs")
    rec = scale_record({a: "YES", b: "YES", c: "NO"}, "YES", pending_shadow=s)
    rec.usage.CopyFrom(voting_pb2.Usage(total_tokens=45, cost_usd=1.0))
    record(stub, rec)
    return rec, a, b, c, s


def test_a_late_shadow_joins_its_call_and_takes_feedback(stub, pending):
    rec, a, b, _, s = pending
    early = expect_error(
        grpc.StatusCode.FAILED_PRECONDITION,
        f"the shadow challenger {s!r} of call {rec.call_id!r} has not answered yet",
        stub.SubmitFeedback,
        ratings_pb2.FeedbackRequest(call_id=rec.call_id, reaction="🅱️"),
    )
    assert "try again shortly" in early.details()

    (outcome,) = attach(stub, late(rec.call_id, s))
    assert outcome.attached.call_id == rec.call_id and not outcome.attached.duplicate
    stored = stub.GetCall(L.GetCallRequest(call_id=rec.call_id), timeout=TIMEOUT)
    assert (stored.shadow.model, stored.shadow.parsed_answer, stored.pending_shadow) == (
        s,
        "NO",
        "",
    )
    # The shadow's tokens and cost are the call's too.
    assert (stored.usage.total_tokens, stored.usage.cost_usd) == (60, 1.25)
    # The shadow does not vote: nobody's rating moved, and the shadow has no panel call.
    rows = ratings_by_model(stub)
    assert (rows[s].rating, rows[s].calls) == (1500.0, 0)

    # Delivered twice (an outbox retry), it changes nothing.
    (again,) = attach(stub, late(rec.call_id, s))
    assert again.attached.duplicate
    assert stub.GetCall(L.GetCallRequest(call_id=rec.call_id), timeout=TIMEOUT) == stored

    reply = stub.SubmitFeedback(
        ratings_pb2.FeedbackRequest(call_id=rec.call_id, reaction="🅱️"), timeout=TIMEOUT
    )
    moved = {ch.model: ch.after - ch.before for ch in reply.changes}
    assert reply.label == "NO" and set(moved) == {a, b, s}
    assert moved[s] > 0 and moved[a] < 0 and moved[b] < 0


def test_a_reader_never_sees_a_shadow_without_its_tokens(stub):
    """Read while shadows are being attached: every record is either still waiting (the panel's
    45 tokens) or has its shadow and the shadow's 15 with it, never the shadow alone."""
    calls = {}
    for _ in range(8):
        s = unique("s")
        rec = scale_record({unique("a"): "YES", unique("b"): "YES", unique("c"): "NO"}, "YES",
                           pending_shadow=s)  # fmt: skip
        rec.usage.CopyFrom(voting_pb2.Usage(total_tokens=45, cost_usd=1.0))
        record(stub, rec)
        calls[rec.call_id] = s
    seen: set[tuple] = set()

    def read() -> None:
        page = stub.ListCalls(records_pb2.ListCallsRequest(page_size=500), timeout=TIMEOUT)
        for c in page.calls:
            if c.call_id in calls:
                shadow = c.HasField("shadow")
                view = (shadow, c.pending_shadow, c.usage.total_tokens, c.usage.cost_usd)
                assert view in ((False, calls[c.call_id], 45, 1.0), (True, "", 60, 1.25)), view
                seen.add((shadow, c.usage.total_tokens, c.usage.cost_usd))

    attaching = threading.Thread(
        target=lambda: [attach(stub, late(call_id, s)) for call_id, s in calls.items()]
    )
    attaching.start()
    while attaching.is_alive():
        read()
    attaching.join()
    seen.clear()
    read()
    assert seen == {(True, 60, 1.25)}  # every one attached, its cost with it


def test_a_late_shadow_that_failed_settles_the_call(stub, pending):
    rec, *_, s = pending
    (outcome,) = attach(stub, late(rec.call_id, s, answer="", error=f"{s}: no answer within 60 s"))
    assert outcome.HasField("attached")
    expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        "has no shadow answer",
        stub.SubmitFeedback,
        ratings_pb2.FeedbackRequest(call_id=rec.call_id, reaction="🅰️"),
    )


def test_attach_refusals_are_per_vote(stub, pending):
    rec, a, *_, s = pending
    chat = records_pb2.CallRecord(call_id=unique("chat"), kind=records_pb2.CALL_KIND_CHAT)
    record(stub, chat)
    outcomes = attach(
        stub,
        late("never-recorded", s),
        late(rec.call_id, a),
        late(rec.call_id, unique("other")),
        late(chat.call_id, s),
        late(rec.call_id, s),
        voting_pb2.ShadowVote(call_id=rec.call_id),
    )
    errors = [(o.error.code, o.error.message) for o in outcomes if o.HasField("error")]
    assert errors[0] == ("NOT_FOUND", "no call with call_id 'never-recorded' is recorded")
    assert errors[1][0] == "INVALID_ARGUMENT" and "outside the panel" in errors[1][1]
    assert errors[2][0] == "INVALID_ARGUMENT" and f"waits for the shadow {s!r}" in errors[2][1]
    assert errors[3][0] == "INVALID_ARGUMENT" and "is not a scale call" in errors[3][1]
    assert errors[4][0] == "INVALID_ARGUMENT" and "vote.model is empty" in errors[4][1]
    assert outcomes[4].attached.call_id == rec.call_id  # the right one still went in
    (other,) = attach(stub, late(rec.call_id, unique("third")))
    assert other.error.code == "FAILED_PRECONDITION" and "already has the shadow" in (
        other.error.message
    )
    stranger = unique("stranger")
    fresh = scale_record({unique("x"): "YES"}, "YES", pending_shadow=stranger)
    record(stub, fresh)
    (unknown,) = attach(stub, late(fresh.call_id, stranger), register=False)
    assert unknown.error.code == "INVALID_ARGUMENT" and "register_models" in unknown.error.message
    expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        "no shadow votes to attach",
        stub.AttachShadows,
        L.AttachShadowsRequest(),
    )


def test_a_record_cannot_have_both_a_shadow_and_a_pending_one(stub):
    rec = scale_record({unique("a"): "YES"}, "YES", shadow=(unique("s"), "NO"))
    rec.pending_shadow = unique("p")
    expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        "a shadow is either answered or pending",
        stub.RecordCall,
        L.RecordCallRequest(record=rec, register_models=True),
    )
