"""The weighted vote's rule (services/common/weighing.py), on small hand-made panels."""

from __future__ import annotations

import math

import pytest

from services.common.weighing import Calibrator, Standing, certain, posterior, weights


def vote(standing: Standing, votes: list[tuple[str, str]], patterns: int = 4):
    weight = weights(standing, [m for m, _ in votes], patterns)
    return posterior(votes, weight, standing.options(patterns))


def test_a_single_voter_is_right_as_often_as_its_profile_says():
    standing = Standing({"a": 0.7})
    for patterns in (2, 4, 10):
        assert vote(standing, [("a", "B")], patterns).raw == pytest.approx(0.7)


def test_agreeing_voters_raise_the_probability_and_a_split_goes_to_the_more_accurate():
    standing = Standing({"a": 0.7, "b": 0.6, "c": 0.5})
    alone = vote(standing, [("a", "B")]).raw
    assert vote(standing, [("a", "B"), ("b", "B")]).raw > alone
    split = vote(standing, [("a", "B"), ("b", "C"), ("c", "D")])
    assert split.winner == "B"
    assert split.probability["B"] > split.probability["C"] > split.probability["D"]


def test_equal_voters_split_evenly_tie():
    standing = Standing({"a": 0.7, "b": 0.7})
    found = vote(standing, [("a", "B"), ("b", "C")])
    assert found.winner == ""
    assert found.probability["B"] == pytest.approx(found.probability["C"])


def test_voters_that_always_err_together_count_as_one():
    together = Standing({"a": 0.7, "b": 0.7}, correlation={frozenset(("a", "b")): 1.0})
    apart = Standing({"a": 0.7, "b": 0.7})
    both = [("a", "B"), ("b", "B")]
    assert vote(together, both).raw == pytest.approx(0.7)
    assert vote(apart, both).raw > 0.8
    reasons = weights(together, ["a", "b"], 4)
    assert "errs with b 1.00: weight x0.50" in reasons["a"].reason


def test_wrong_answers_that_coincide_spread_over_fewer_options():
    # Two wrong answers coincide half the time: as if there were 3 options, not 10.
    standing = Standing({"a": 0.6, "b": 0.6}, coincidence=0.5)
    assert standing.options(10) == pytest.approx(3.0)
    assert standing.options(2) == pytest.approx(2.0)
    spread = Standing({"a": 0.6, "b": 0.6})
    both = [("a", "B"), ("b", "B")]
    assert vote(standing, both, 10).raw < vote(spread, both, 10).raw


def test_a_voter_no_better_than_chance_carries_no_weight_and_an_unprofiled_one_the_mean():
    standing = Standing({"a": 0.1, "b": 0.9})
    w = weights(standing, ["a", "b", "x"], 2)
    assert w["a"].log_odds == pytest.approx(0.0)
    assert w["x"].accuracy == pytest.approx(0.5)  # the mean of 0.1 and 0.9
    assert "not profiled" in w["x"].reason


def test_certain_only_when_the_pending_voters_cannot_change_the_winner():
    standing = Standing({"strong": 0.95, "weak1": 0.4, "weak2": 0.4, "new": 0.9})
    two_weak = [("weak1", "B"), ("weak2", "B")]
    w = weights(standing, ["weak1", "weak2", "new"], 4)
    assert not certain(two_weak, w, ["new"], 4)
    w = weights(standing, ["strong", "weak1"], 4)
    assert certain([("strong", "B")], w, ["weak1"], 4)


def test_the_calibration_map_for_the_number_of_votes_cast_applies():
    standing = Standing(
        {"a": 0.7},
        calibrators={1: Calibrator((0.2, 0.8), (0.3, 0.6)), 3: Calibrator((0.5,), (0.9,))},
    )
    assert standing.calibrate(0.5, 1) == pytest.approx(0.45)  # linear between knots
    assert standing.calibrate(0.1, 1) == pytest.approx(0.3)  # flat beyond the ends
    assert standing.calibrate(0.5, 2) == pytest.approx(0.45)  # the largest map at or under
    assert standing.calibrate(0.1, 7) == pytest.approx(0.9)
    assert Standing({"a": 0.7}).calibrate(0.42, 3) == 0.42


def test_scores_stay_finite_for_many_confident_voters():
    standing = Standing({f"m{i}": 0.98 for i in range(5)})
    found = vote(standing, [(f"m{i}", "B") for i in range(5)], 10)
    assert math.isfinite(found.raw) and 0.99 < found.raw < 1.0
