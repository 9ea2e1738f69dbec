"""Fitted vote weights (services/learning/voter_scales.py): independent voters keep the weight the
independent rule gives them, a voter that only echoes another shares its weight with it, and too
few items fit nothing."""

from __future__ import annotations

import numpy as np
import pytest

from services.common.weighing import MAX_SCALE
from services.learning import voter_scales

OPTIONS = "ABCD"


def _answers(items: int, accuracy: dict[str, float], seed: int, echo: dict[str, str] | None = None):
    """4-option questions, key A; each model right with its accuracy, wrong uniformly, except
    an echo, which gives the answer of the model it echoes."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(items):
        row = {}
        for m, p in accuracy.items():
            row[m] = "A" if rng.random() < p else OPTIONS[1 + rng.integers(3)]
        row.update({e: row[source] for e, source in (echo or {}).items()})
        rows.append([row[m] for m in [*accuracy, *(echo or {})]])
    return rows


def _fit(rows, accuracy: list[float], m: float = 4.0):
    factor = np.tile(voter_scales.log_odds(np.asarray(accuracy), m), (len(rows), 1))
    unvoted = np.array([max(m - len(set(r)), 0.0) for r in rows])
    return voter_scales.fit(rows, [{"A"} for _ in rows], factor, unvoted)


def test_independent_voters_keep_the_independent_weight():
    accuracy = {"strong": 0.8, "middle": 0.6, "weak": 0.45}
    scales = _fit(_answers(4000, accuracy, seed=1), list(accuracy.values()))
    assert scales == pytest.approx([1.0, 1.0, 1.0], abs=0.15)


def test_an_echo_shares_the_weight_of_the_voter_it_copies():
    accuracy = {"strong": 0.75, "other": 0.7}
    rows = _answers(4000, accuracy, seed=2, echo={"copy": "other"})
    strong, other, copy = _fit(rows, [0.75, 0.7, 0.7])
    # Two votes that are one: together they count about as much as one independent voter.
    assert other + copy == pytest.approx(1.0, abs=0.25)
    assert strong == pytest.approx(1.0, abs=0.2)
    assert min(strong, other, copy) >= 0 and max(strong, other, copy) <= MAX_SCALE


def test_too_few_items_fit_nothing_and_no_answer_at_all_neither():
    rows = _answers(voter_scales.MIN_ITEMS - 1, {"a": 0.7, "b": 0.6}, seed=3)
    assert _fit(rows, [0.7, 0.6]) is None
    assert (
        voter_scales.fit([["", ""]] * 100, [{"A"}] * 100, np.ones((100, 2)), np.ones(100)) is None
    )
