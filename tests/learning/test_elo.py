"""The pure ELO arithmetic: zero-sum in integers, order-independent within one event."""

from __future__ import annotations

import random

import pytest

from services.learning import elo


def test_pairwise_is_zero_sum_and_order_independent():
    rng = random.Random(3)
    for _ in range(200):
        names = [f"m{i}" for i in range(rng.randint(2, 7))]
        ratings = {m: rng.randint(1_000_000, 2_000_000) for m in names}
        winners = rng.sample(names, rng.randint(1, len(names) - 1))
        losers = [m for m in names if m not in winners]
        first = elo.pairwise(ratings, winners, losers, 16)
        again = elo.pairwise(ratings, list(reversed(winners)), rng.sample(losers, len(losers)), 16)
        assert sum(first.deltas.values()) == 0
        assert first.deltas == again.deltas
        assert sum(first.wins.values()) == sum(first.losses.values()) == len(winners) * len(losers)


@pytest.mark.parametrize(
    ("winner", "loser", "k", "delta"),
    [
        (1_500_000, 1_500_000, 16, 8000),
        (1_500_000, 1_500_000, 64, 32000),
        (1_900_000, 1_500_000, 16, 1455),
    ],
)
def test_known_deltas(winner, loser, k, delta):
    outcome = elo.pairwise({"w": winner, "l": loser}, ["w"], ["l"], k)
    assert outcome.deltas == {"w": delta, "l": -delta}


def test_consensus_without_majority_or_against_nobody_moves_nothing():
    ratings = {"a": 1_500_000, "b": 1_500_000}
    assert elo.consensus(ratings, {"a": "YES", "b": "NO"}, "", 16).deltas == {}
    assert elo.consensus(ratings, {"a": "YES", "b": "YES"}, "YES", 16).deltas == {}
