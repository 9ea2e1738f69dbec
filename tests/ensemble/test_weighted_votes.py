"""The ensemble's vote under the weighted rule (vote.decide / vote.settled with a Standing), and a
weighing as a request carries it (ballots.rule)."""

from __future__ import annotations

import pytest

from freescaling.common.v1 import voting_pb2
from freescaling.ensemble.v1 import ensemble_pb2
from services.common.weighing import Calibrator, Standing
from services.ensemble import ballots, vote
from services.ensemble.pool import BadRequest

STANDING = Standing({"strong": 0.8, "mid": 0.5, "weak": 0.35})


def cast(*pairs: tuple[str, str]) -> list[vote.Ballot]:
    return [vote.Ballot(model=m, parsed_answer=a, abstained=not a) for m, a in pairs]


def test_a_three_way_split_goes_to_the_most_trusted_voter_with_each_weight_explained():
    votes = cast(("strong", "B"), ("mid", "C"), ("weak", "D"))
    decided = vote.decide(votes, vote.Rule(STANDING), patterns=10)
    assert (decided.answer, decided.outcome, decided.source) == ("B", vote.MAJORITY, "calibrated")
    assert decided.rule == vote.WEIGHTED
    assert votes[0].weight > votes[1].weight > votes[2].weight > 0
    assert votes[0].accuracy == pytest.approx(0.8)
    assert "expected accuracy 0.80" in votes[0].weight_reason
    # Under the majority rule the same split has no answer.
    assert vote.decide(cast(("strong", "B"), ("mid", "C"), ("weak", "D"))).outcome == vote.TIE


def test_an_answer_under_min_confidence_is_flagged_or_abstained_on():
    votes = cast(("mid", "B"))
    flagged = vote.decide(votes, vote.Rule(STANDING, min_confidence=0.9), patterns=4)
    assert (flagged.answer, flagged.confident) == ("B", False)
    unsure = vote.decide(votes, vote.Rule(STANDING, 0.9, abstain=True), patterns=4)
    assert (unsure.answer, unsure.outcome) == ("", vote.UNSURE)
    assert unsure.probability["B"] == pytest.approx(0.5)
    assert vote.decide(votes, vote.Rule(STANDING, 0.4), patterns=4).confident


def test_the_calibration_map_gives_the_confidence():
    standing = Standing({"mid": 0.5}, calibrators={1: Calibrator((0.0, 1.0), (0.1, 0.3))})
    decided = vote.decide(cast(("mid", "B")), vote.Rule(standing), patterns=4)
    assert decided.confidence == pytest.approx(0.2)
    assert decided.probability["B"] == pytest.approx(0.2)


def test_unfinished_models_are_cancelled_only_when_they_cannot_change_the_winner():
    rule = vote.Rule(STANDING)
    # Two weak voters agree; the strong one could still outvote them.
    assert not vote.settled(cast(("weak", "B"), ("mid", "B")), ["strong"], rule, 4)
    assert vote.settled(cast(("strong", "B"), ("mid", "B")), ["weak"], rule, 4)
    # With a target the winner being certain is not enough: its confidence must reach it.
    assert not vote.settled(
        cast(("strong", "B"), ("mid", "B")), ["weak"], vote.Rule(STANDING, 0.999), 4
    )


def test_a_request_weighing_becomes_the_rule_or_a_clear_refusal():
    weighing = voting_pb2.Weighing(
        voters=[voting_pb2.Voter(model="a", accuracy=0.7)],
        calibrations=[voting_pb2.Calibration(raw=[0.1, 0.9], calibrated=[0.2, 0.8], votes=1)],
        wrong_coincidence=0.4,
    )
    request = ensemble_pb2.ScaleRequest(weighing=weighing, min_confidence=0.6)
    rule = ballots.rule(request)
    assert rule.standing is not None and rule.min_confidence == 0.6
    assert rule.standing.calibrate(0.5, 1) == pytest.approx(0.5)
    majority = ensemble_pb2.ScaleRequest(weighing=weighing, vote_rule=voting_pb2.VOTE_RULE_MAJORITY)
    assert ballots.rule(majority).standing is None
    with pytest.raises(BadRequest, match="profile the models first"):
        ballots.rule(ensemble_pb2.ScaleRequest(vote_rule=voting_pb2.VOTE_RULE_WEIGHTED))
    bad = ensemble_pb2.ScaleRequest(weighing=weighing)
    bad.weighing.voters[0].accuracy = float("nan")
    with pytest.raises(BadRequest, match="accuracy nan"):
        ballots.rule(bad)
    descending = ensemble_pb2.ScaleRequest(weighing=weighing)
    descending.weighing.calibrations[0].raw[:] = [0.9, 0.1]
    with pytest.raises(BadRequest, match="ascending"):
        ballots.rule(descending)
    with pytest.raises(BadRequest, match="min_confidence is 2"):
        ballots.rule(ensemble_pb2.ScaleRequest(min_confidence=2))


def test_where_no_voter_is_profiled_the_majority_decides_and_says_so():
    votes = cast(("x", "YES"), ("y", "YES"), ("z", "NO"))
    decided = vote.decide(votes, vote.Rule(STANDING), patterns=2)
    assert (decided.answer, decided.source, decided.rule) == ("YES", "vote_share", "majority")
    assert decided.confidence == pytest.approx(2 / 3)
    assert vote.settled(cast(("x", "YES"), ("y", "YES")), ["z"], vote.Rule(STANDING), 2)
