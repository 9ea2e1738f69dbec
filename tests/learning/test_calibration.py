"""Calibration of weighted votes on profiling data (services/learning/calibration.py): the map is
fitted on votes simulated from graded answers and turns raw posteriors into probabilities that
hold on new votes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from services.common.weighing import Standing, posterior, weights
from services.learning import calibration, estimators

OPTIONS = "ABCD"


def synthetic(items: int, accuracy: dict[str, float], seed: int):
    """Models answering `items` 4-option questions independently (key A), wrong uniformly."""
    rng = np.random.default_rng(seed)
    rows, answers = [], []
    for i in range(items):
        row = []
        for m, p in accuracy.items():
            a = "A" if rng.random() < p else OPTIONS[1 + rng.integers(3)]
            row.append(a)
            rows.append((m, f"q{i}", 0, "", a == "A"))
        answers.append(row)
    return rows, answers


def test_isotonic_is_non_decreasing_and_never_certain():
    x = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    raw, cal = calibration.isotonic(x, y)
    assert list(raw) == sorted(raw)
    assert all(b >= a for a, b in itertools.pairwise(cal))
    assert cal[0] > 0 and cal[-1] < 1


def test_coincidence_and_correlations_from_the_answers():
    answers = [["B", "B", "A"], ["C", "D", "A"]]
    wrong = np.array([[True, True, False], [True, True, False]])
    # Item 0: the two wrong answers coincide; item 1: they do not.
    assert calibration.coincidence(answers, wrong) == pytest.approx(0.5)
    rows = [
        (m, f"q{i}", 0, "", ok)
        for i, oks in enumerate([(False, False, True), (True, True, False), (True, True, True)])
        for m, ok in zip("xyz", oks, strict=True)
    ]
    pool = estimators.Pool.build(rows)
    phi = calibration.correlations(pool)
    assert phi[0, 1] == pytest.approx(1.0)  # x and y err on the same item
    assert phi[0, 2] == pytest.approx(-0.5)


def test_the_fitted_maps_hold_on_new_votes():
    accuracy = {"m1": 0.8, "m2": 0.65, "m3": 0.55, "m4": 0.45, "m5": 0.4}
    rows, answers = synthetic(3000, accuracy, seed=1)
    pool = estimators.Pool.build(rows)
    # Answers are kept in the pool's own order of items and models.
    order = [list(accuracy).index(m) for m in pool.models]
    answers = [[answers[int(item[1:])][j] for j in order] for item in pool.item_ids]
    wrong = (pool.errors > 0) & (pool.answers > 0)
    co = calibration.coincidence(answers, wrong)
    assert co == pytest.approx(1 / 3, abs=0.03)  # wrong answers spread over 3 options
    fits = calibration.fit(
        pool, answers, estimators.Spec(estimators.OVERALL), calibration.correlations(pool), co
    )
    assert [f.votes for f in fits] == [1, 2, 3, 4, 5] and all(f.samples > 1000 for f in fits)
    standing = Standing(
        {m: 1 - float(pool.errors[:, i].mean()) for i, m in enumerate(pool.models)},
        calibrators={f.votes: f.calibrator for f in fits},
        coincidence=co,
    )
    # New questions, the top three voting: the confidence is right on average, bin by bin.
    _test_rows, test_answers = synthetic(6000, accuracy, seed=2)
    panel = ["m1", "m2", "m3"]
    confidence, right = [], []
    for row in test_answers:
        votes = [(m, row[list(accuracy).index(m)]) for m in panel]
        w = weights(standing, panel, 4)
        found = posterior(votes, w, standing.options(4))
        if found.winner:
            confidence.append(standing.calibrate(found.raw, len(votes)))
            right.append(found.winner == "A")
    confidence, right = np.array(confidence), np.array(right, dtype=float)
    bins = np.minimum((confidence * 10).astype(int), 9)
    ece = sum(
        (bins == b).mean() * abs(confidence[bins == b].mean() - right[bins == b].mean())
        for b in range(10)
        if (bins == b).any()
    )
    assert ece < 0.04
    assert abs(confidence.mean() - right.mean()) < 0.02


def test_too_few_votes_fit_no_map():
    rows, answers = synthetic(20, {"a": 0.7, "b": 0.6}, seed=3)
    pool = estimators.Pool.build(rows)
    answers = [answers[int(item[1:])] for item in pool.item_ids]
    fits = calibration.fit(
        pool, answers, estimators.Spec(estimators.OVERALL), calibration.correlations(pool), 0.3
    )
    assert all(not f.calibrator.raw for f in fits)
    assert "too few" in fits[0].method


def test_knots_stay_ascending_where_block_means_round():
    # Many equal raw values split across blocks: their means must not come out in a falling
    # order by rounding (a weighing with falling knots is refused by the ensemble).
    for seed in (0, 1, 6, 11):  # seeds whose block means came out falling before the fix
        rng = np.random.default_rng(seed)
        x = np.round(rng.random(20000), 2) * 0.1 + 0.1
        y = (rng.random(20000) < x).astype(float)
        raw, _ = calibration.isotonic(x, y)
        assert list(raw) == sorted(raw)
