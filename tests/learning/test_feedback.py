"""SubmitFeedback through gRPC on both databases: reactions, verdicts, K = 64, idempotency and
clear errors."""

from __future__ import annotations

import grpc
import pytest

from freescaling.common.v1 import ratings_pb2
from tests.learning.helpers import (
    TIMEOUT,
    expect_error,
    milli_sum,
    ratings_by_model,
    record,
    scale_record,
    unique,
)

V = ratings_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
def call(stub):
    """A recorded 2-1 call (a, b said YES; c said NO) with a shadow s that said NO."""
    a, b, c, s = (unique(p) for p in "abcs")
    rec = scale_record(
        {a: "YES", b: "YES", c: "NO"}, "YES", shadow=(s, "NO"), message_id=unique("msg")
    )
    record(stub, rec)
    return rec, a, b, c, s


def feedback(stub, **fields):
    return stub.SubmitFeedback(V.FeedbackRequest(**fields), timeout=TIMEOUT)


def test_thumbs_up_confirms_with_k64(stub, call):
    rec, a, b, c, s = call
    reply = feedback(stub, call_id=rec.call_id, reaction="👍")
    assert (reply.verdict, reply.label, reply.duplicate) == (V.VERDICT_CONFIRM, "YES", False)
    moved = {ch.model: round(ch.after - ch.before, 3) for ch in reply.changes}
    assert set(moved) == {a, b, c, s}
    assert moved[a] > 0 and moved[c] < 0 and moved[s] < 0
    # Feedback games are 4 times the consensus K: between equals a game moves 32 points.
    assert moved[a] + moved[b] + moved[c] + moved[s] == pytest.approx(0, abs=1e-9)
    rows = ratings_by_model(stub)
    assert rows[a].feedback_count == 1
    assert milli_sum(rows.values()) == 1_500_000 * len(rows)


def test_the_same_feedback_twice_changes_nothing(stub, call):
    rec, *_ = call
    first = feedback(stub, message_id=rec.message_id, reaction="🔴")
    before = ratings_by_model(stub)
    again = feedback(stub, call_id=rec.call_id, verdict=V.VERDICT_OVERRIDE, label="YES")
    assert (first.label, first.duplicate, again.duplicate) == ("YES", False, True)
    assert list(again.changes) == []
    assert ratings_by_model(stub) == before
    keyed = feedback(stub, call_id=rec.call_id, reaction="🟡", feedback_id="fb-1")
    replayed = feedback(stub, call_id=rec.call_id, reaction="🟡", feedback_id="fb-1")
    assert (keyed.label, keyed.duplicate, replayed.duplicate) == ("NO", False, True)


def test_override_makes_the_minority_win(stub, call):
    rec, a, b, c, s = call
    reply = feedback(stub, call_id=rec.call_id, verdict=V.VERDICT_OVERRIDE, label="NO")
    moved = {ch.model: ch.after - ch.before for ch in reply.changes}
    assert moved[c] > 0 and moved[s] > 0 and moved[a] < 0 and moved[b] < 0
    rows = ratings_by_model(stub)
    assert rows[c].wins == 2


@pytest.mark.parametrize(
    ("reaction", "winner_is_shadow"), [("🅰️", False), ("🅰", False), ("🅱️", True)]
)
def test_panel_or_shadow_right(stub, call, reaction, winner_is_shadow):
    rec, a, b, _c, s = call
    reply = feedback(stub, call_id=rec.call_id, reaction=reaction)
    moved = {ch.model: ch.after - ch.before for ch in reply.changes}
    # Only the majority voters and the shadow play; the dissenting panel member does not.
    assert set(moved) == {a, b, s}
    assert (moved[s] > 0) == winner_is_shadow
    assert reply.label == ("NO" if winner_is_shadow else "YES")


def test_reactions_that_do_not_fit_the_call_are_invalid(stub, call):
    rec, *_ = call
    expect_error(
        INVALID,
        "reaction picks answer pattern 3, but call",
        stub.SubmitFeedback,
        V.FeedbackRequest(call_id=rec.call_id, reaction="⚪"),
    )
    expect_error(
        INVALID,
        "label 'MAYBE' is not one of call",
        stub.SubmitFeedback,
        V.FeedbackRequest(call_id=rec.call_id, verdict=V.VERDICT_OVERRIDE, label="MAYBE"),
    )
    expect_error(
        INVALID,
        "unknown reaction '🎉'",
        stub.SubmitFeedback,
        V.FeedbackRequest(call_id=rec.call_id, reaction="🎉"),
    )
    expect_error(
        INVALID,
        "neither a reaction nor a verdict",
        stub.SubmitFeedback,
        V.FeedbackRequest(call_id=rec.call_id),
    )
    expect_error(
        INVALID,
        "needs a call_id or a message_id",
        stub.SubmitFeedback,
        V.FeedbackRequest(reaction="👍"),
    )


def test_ab_without_a_differing_shadow_is_invalid(stub):
    rec = scale_record({unique("a"): "YES", unique("b"): "YES"}, "YES")
    record(stub, rec)
    expect_error(
        INVALID,
        "has no shadow answer",
        stub.SubmitFeedback,
        V.FeedbackRequest(call_id=rec.call_id, reaction="🅱️"),
    )
    agreeing = scale_record({unique("a"): "NO"}, "NO", shadow=(unique("s"), "NO"))
    record(stub, agreeing)
    expect_error(
        INVALID,
        "the shadow agreed with the panel",
        stub.SubmitFeedback,
        V.FeedbackRequest(call_id=agreeing.call_id, reaction="🅰️"),
    )


def test_feedback_on_an_unknown_call_is_not_found(stub):
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        "no call with call_id 'ghost' is recorded",
        stub.SubmitFeedback,
        V.FeedbackRequest(call_id="ghost", reaction="👍"),
    )
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        "no call with message_id 'ghost-msg' is recorded",
        stub.SubmitFeedback,
        V.FeedbackRequest(message_id="ghost-msg", verdict=V.VERDICT_CONFIRM),
    )
