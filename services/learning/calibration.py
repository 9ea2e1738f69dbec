"""Calibration of weighted votes on the profiling data: what a vote's raw posterior (weighing.py
in services/common) is worth, measured on votes the profiled models would have cast.

From a cluster set's pool of graded validation answers (with the parsed answers themselves):
1. each model's expected accuracy on each item is estimated out of fold (5 folds by a stable
   hash of the item id, the set's chosen profile estimator fitted on the other folds), so that no
   item vouches for itself;
2. votes are simulated item by item: panels of 1 to 5 of the models that answered it (the most
   accurate ones where the item falls, as fixed panels and the cascade ask; then drawn in
   proportion to the square of accuracy, uniformly, and in proportion again), each weighed as a
   live vote would be and scored right when its winner is an answer some voter was graded
   right for;
3. for each number of votes cast (1 to 5; the last for 5 or more), an isotonic regression
   (pool-adjacent-violators) of right on raw posterior gives the map, its blocks shrunk by half
   a success and half a failure so that no confidence is 0 or 1. One map for every size would
   bend a single voter's estimate (already calibrated: among near-best routers, the
   estimator is chosen by log-loss) toward what suits five agreeing voters.

Also here: the chance that two wrong answers coincide, and the error correlations, both from
the same answers. Pure numpy; nothing here knows of the database or gRPC.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from services.common.weighing import Calibrator, Standing, posterior, weights
from services.learning import estimators

SIZES = (1, 2, 3, 4, 5)
# Simulated panels per item and size (the most accurate, then drawn: by accuracy, uniformly, by
# accuracy).
DRAWS = 4
# Items simulated at most (a deterministic subsample beyond).
MAX_ITEMS = 3000
# Fewer simulated votes than this fit no map: the raw posterior is the confidence.
MIN_SAMPLES = 200
SEED = 0


@dataclass(frozen=True)
class Fit:
    """A map for `votes` cast votes."""

    votes: int
    calibrator: Calibrator
    samples: int
    method: str


def coincidence(answers: list[list[str]], wrong: np.ndarray) -> float:
    """The share of pairs of wrong, non-empty answers to one item that are the same answer
    (0 when no two models were wrong on one item)."""
    equal = total = 0
    for i, row in enumerate(answers):
        counts: dict[str, int] = {}
        for m, a in enumerate(row):
            if a and wrong[i, m]:
                counts[a] = counts.get(a, 0) + 1
        n = sum(counts.values())
        total += n * (n - 1) // 2
        equal += sum(c * (c - 1) // 2 for c in counts.values())
    return equal / total if total else 0.0


def correlations(pool: estimators.Pool) -> np.ndarray:
    """Phi of each pair of models' errors over the items both answered (0 where undefined)."""
    answered = (pool.answers > 0).astype(np.float64)
    wrong = ((pool.errors > 0) & (pool.answers > 0)).astype(np.float64)
    both = answered.T @ answered
    n11 = wrong.T @ wrong
    wa = wrong.T @ answered  # [a, b]: a wrong where both answered
    n10, n01 = wa - n11, wa.T - n11
    n00 = both - n11 - n10 - n01
    denominator = np.sqrt((n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00))
    phi = np.divide(
        n11 * n00 - n10 * n01, denominator, out=np.zeros_like(n11), where=denominator > 0
    )
    np.fill_diagonal(phi, 0.0)
    return phi


def out_of_fold(spec: estimators.Spec, pool: estimators.Pool) -> tuple[np.ndarray, np.ndarray]:
    """(items, accuracy) where `accuracy[r, m]` is model m's estimated accuracy on item
    `items[r]`, from the estimator fitted without that item's fold."""
    items = np.arange(len(pool.item_ids))
    queries = None
    if spec.needs_embedding:
        if pool.embeddings is None or pool.embedded is None:
            spec = estimators.Spec(estimators.OVERALL)
        else:
            items = pool.embedded
            queries = pool.embeddings
    folds = np.array([zlib.crc32(pool.item_ids[i].encode()) % estimators.FOLDS for i in items])
    accuracy = np.full((len(items), len(pool.models)), np.nan)
    for f in range(estimators.FOLDS):
        held = np.flatnonzero(folds == f)
        fit = items[folds != f]
        if not len(held) or not len(fit):
            continue
        fitted = estimators.Fitted(spec, pool, fit)
        psi, _ = fitted.predict(
            pool.clusters[items[held]],
            pool.tasks[items[held]],
            None if queries is None else queries[held],
        )
        accuracy[held] = 1.0 - psi
    keep = ~np.isnan(accuracy).any(axis=1)
    return items[keep], accuracy[keep]


def isotonic(x: np.ndarray, y: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Knots of the pool-adjacent-violators fit of y on x (each block at its mean x), every
    block's mean shrunk by half a success and half a failure, kept non-decreasing."""
    order = np.argsort(x, kind="stable")
    blocks: list[list[float]] = []  # [sum_y, count, sum_x]
    for xi, yi in zip(x[order], y[order], strict=True):
        blocks.append([float(yi), 1.0, float(xi)])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s, c, sx = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
            blocks[-1][2] += sx
    raw, calibrated, floor, left = [], [], 0.0, 0.0
    for s, c, sx in blocks:
        floor = max(floor, (s + 0.5) / (c + 1.0))
        # Block means of sorted x never fall, but their sums round: keep the knots ascending.
        left = max(left, sx / c)
        raw.append(left)
        calibrated.append(floor)
    return tuple(raw), tuple(calibrated)


def fit(
    pool: estimators.Pool,
    answers: list[list[str]],
    spec: estimators.Spec,
    phi: np.ndarray,
    wrong_coincidence: float,
) -> list[Fit]:
    """The calibration maps of the raw posterior for this pool, by votes cast; `answers[i][m]`
    is model m's parsed answer to item i ("" for none)."""
    items, accuracy = out_of_fold(spec, pool)
    if len(items) > MAX_ITEMS:
        keep = sorted(range(len(items)), key=lambda r: zlib.crc32(pool.item_ids[items[r]].encode()))
        keep = np.sort(np.asarray(keep[:MAX_ITEMS]))
        items, accuracy = items[keep], accuracy[keep]
    models = pool.models
    correlation = {
        frozenset((models[a], models[b])): float(phi[a, b])
        for a in range(len(models))
        for b in range(a + 1, len(models))
    }
    # The options a wrong answer spreads over: as many as the most distinct answers seen.
    patterns = max((len({a for a in row if a}) for row in answers), default=2) + 1
    rng = np.random.default_rng(SEED)
    raws: dict[int, list[float]] = {n: [] for n in SIZES}
    rights: dict[int, list[float]] = {n: [] for n in SIZES}
    for row, i in enumerate(items):
        voters = [m for m in range(len(models)) if pool.answers[i, m] > 0 and answers[i][m]]
        if not voters:
            continue
        right = {answers[i][m] for m in voters if pool.errors[i, m] == 0}
        standing = Standing(
            accuracy={models[m]: float(accuracy[row, m]) for m in voters},
            correlation=correlation,
            coincidence=wrong_coincidence,
        )
        m_eff = standing.options(patterns)
        chance = np.array([accuracy[row, m] for m in voters]) ** 2
        chance = chance / chance.sum() if chance.sum() > 0 else None
        for size in SIZES:
            if size > len(voters):
                break
            for draw in range(DRAWS):
                if draw == 0:
                    # The panel the system would ask: the most accurate where the item falls.
                    picked = np.argsort(-accuracy[row, voters], kind="stable")[:size]
                else:
                    by_accuracy = draw % 2 == 1 and chance is not None
                    picked = rng.choice(
                        len(voters), size, replace=False, p=chance if by_accuracy else None
                    )
                panel = [models[voters[j]] for j in picked]
                weight = weights(standing, panel, patterns)
                votes = [(models[voters[j]], answers[i][voters[j]]) for j in picked]
                found = posterior(votes, weight, m_eff)
                if found.winner:
                    raws[size].append(found.raw)
                    rights[size].append(1.0 if found.winner in right else 0.0)
    fits = []
    for size in SIZES:
        n = len(raws[size])
        if n < MIN_SAMPLES:
            fits.append(Fit(size, Calibrator(), n, f"none: {n} simulated votes, too few to fit"))
            continue
        raw, calibrated = isotonic(np.asarray(raws[size]), np.asarray(rights[size]))
        fits.append(
            Fit(
                size,
                Calibrator(raw, calibrated),
                n,
                f"isotonic over {n} votes of {size} simulated on {len(items)} validation items "
                f"(accuracies out of fold, {spec.describe()})",
            )
        )
    return fits
