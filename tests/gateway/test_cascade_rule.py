"""The k=auto cascade's rule on calibrated confidence (services/gateway/cascade.py), pure."""

from __future__ import annotations

import pytest

from services.common.weighing import Standing
from services.gateway.cascade import (
    MAX_MODELS,
    NEAR_BEST,
    Cast,
    confidence,
    expected,
    outcomes,
    plan,
)


def test_the_cheapest_model_likely_enough_alone_answers_first():
    standing = Standing({"dear": 0.95, "cheap": 0.85, "cheaper": 0.6})
    costs = {"dear": 10.0, "cheap": 1.0, "cheaper": 0.1}
    first = plan(standing, [], list(costs), costs, 0.8, 4)
    assert first.models == ["cheap"]
    assert "cheapest model likely enough to be right alone" in first.reason


def test_a_clear_enough_answer_stops_the_cascade():
    standing = Standing({"a": 0.9, "b": 0.9})
    done = plan(standing, [Cast("a", "B")], ["a", "b"], {"a": 1, "b": 1}, 0.8, 4)
    assert done.models == [] and "reaches the target 0.80: stop" in done.reason


def test_without_a_model_sure_alone_the_most_confidence_per_cost_among_the_near_best():
    standing = Standing({"best": 0.7, "near": 0.65, "weak": 0.3})
    costs = {"best": 10.0, "near": 1.0, "weak": 0.01}
    first = plan(standing, [], list(costs), costs, 0.9, 4)
    # `weak` is far cheaper but far less accurate than the best left: never chosen first.
    assert first.models == ["near"]
    assert "no model alone reaches 0.90" in first.reason


def test_an_addition_that_errs_apart_comes_before_one_that_errs_with_those_asked():
    standing = Standing(
        {"a": 0.7, "twin": 0.7, "other": 0.7}, correlation={frozenset(("a", "twin")): 0.9}
    )
    costs = {"a": 1.0, "twin": 1.0, "other": 1.0}
    after = plan(standing, [Cast("a", "B")], list(costs), costs, 0.95, 4)
    assert after.models == ["other"]


def test_the_addition_likeliest_to_reach_the_target_per_unit_of_cost_comes_first():
    """After a cheap model, a mid-priced one that settles the answer by agreeing comes before
    the dearest and most accurate, which would settle it a little more often: chance of
    success over cost. Most confidence expected per unit of cost would have asked the dearest
    (an uncalibrated posterior's expectation is the posterior itself, so only its gain shows)."""
    standing = Standing({"flash": 0.64, "l70": 0.62, "pro": 0.71})
    costs = {"flash": 0.13, "l70": 0.9, "pro": 2.19}
    votes = [Cast("flash", "A")]
    now = confidence(standing, votes, 4)[1]
    reach = {
        m: sum(c for c, after in outcomes(standing, votes, m, 4) if after >= 0.8)
        for m in ("l70", "pro")
    }
    assert 0 < reach["l70"] < reach["pro"]
    assert reach["l70"] / costs["l70"] > reach["pro"] / costs["pro"]
    gain = {m: (expected(standing, votes, m, 4) - now) / costs[m] for m in ("l70", "pro")}
    assert gain["pro"] > gain["l70"]
    step = plan(standing, votes, list(costs), costs, 0.8, 4)
    assert step.models == ["l70"] and "likeliest to reach it per unit of cost" in step.reason
    # Where no one more vote can reach the target, the most confidence per unit of cost.
    far = plan(standing, votes, list(costs), costs, 0.99, 4)
    assert far.models == ["pro"] and "no one more vote reaches it" in far.reason


def test_once_the_near_best_are_asked_the_cascade_stops_under_the_target():
    """A much weaker model is never asked, even when every stronger one has been and the
    confidence is still short: its vote, weighed against theirs, costs accuracy."""
    standing = Standing({"a": 0.7, "b": 0.65, "weak": 0.7 - NEAR_BEST - 0.05})
    costs = {"a": 1.0, "b": 1.0, "weak": 0.01}
    votes = [Cast("a", "B"), Cast("b", "C")]
    done = plan(standing, votes, list(costs), costs, 0.9, 4)
    assert done.models == []
    assert "no model left within 0.1 of the most accurate (0.70): stop" in done.reason
    assert done.reachable == confidence(standing, votes, 4)[1]


def test_no_model_is_asked_twice_and_five_at_most():
    standing = Standing({f"m{i}": 0.6 for i in range(7)})
    costs = {f"m{i}": 1.0 for i in range(7)}
    votes = [Cast("m0", ""), Cast("m1", "B")]
    step = plan(standing, votes, list(costs), costs, 0.99, 4)
    assert step.models and step.models[0] not in {"m0", "m1"}
    five = [Cast(f"m{i}", "B" if i % 2 else "C") for i in range(MAX_MODELS)]
    done = plan(standing, five, list(costs), costs, 0.99, 4)
    assert done.models == [] and f"{MAX_MODELS} models asked: stop" in done.reason
    alone = plan(standing, [Cast("m0", "")], ["m0"], costs, 0.99, 4)
    assert alone.models == [] and "no other model to ask" in alone.reason


def test_an_abstention_counts_for_nothing():
    standing = Standing({"a": 0.7, "b": 0.8})
    assert confidence(standing, [Cast("a", "")], 4) == ("", 0.0)
    assert confidence(standing, [Cast("a", ""), Cast("b", "C")], 4)[1] == pytest.approx(0.8)


def test_expected_confidence_of_a_chance_level_voter_is_no_gain():
    standing = Standing({"a": 0.7, "coin": 0.25, "good": 0.9})
    now = confidence(standing, [Cast("a", "B")], 4)[1]
    assert expected(standing, [Cast("a", "B")], "coin", 4) == pytest.approx(now)
    assert expected(standing, [Cast("a", "B")], "good", 4) > now + 0.1
