"""The k=auto cascade's rule on calibrated confidence (services/gateway/cascade.py), pure."""

from __future__ import annotations

import pytest

from services.common.weighing import Standing
from services.gateway.cascade import MAX_MODELS, Cast, confidence, expected, plan


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
