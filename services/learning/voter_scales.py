"""How much each voter's vote should count, fitted: one scale per model, by maximum likelihood of
the right answers on the profiling items.

weighing.py turns a vote for answer a into log-odds w_i * log(p_i (m - 1) / (1 - p_i)). With
w_i = 1 every voter is taken as independent of the others, which they are not: weak models err
together, and twelve of them outvote a strong one. The correlation discount corrects that by a
rule of thumb. Here w_i is fitted instead: on every profiling item, all the models that answered
it vote (each with its out-of-fold accuracy there), and the scales are those under which the
weighted posterior gives the right answers the highest likelihood (a conditional logit over the
item's answers, the options nobody gave scoring 0). A model whose right votes are mostly echoes
of stronger ones gets a small scale, one that is right where the others are not keeps its own.

Scales are kept within [0, MAX_SCALE] (a vote never counts against its answer) and pulled toward
1 by a Gaussian prior: few items leave the independent rule nearly as it is. Pure numpy; nothing
here knows of the database or gRPC.
"""

from __future__ import annotations

import numpy as np

from services.common.weighing import MAX_ACCURACY, MAX_SCALE
from services.learning.estimators import Pool

# The precision of the Gaussian prior on each scale, centred on 1 (in units of one item's
# log-likelihood): a model's scale leaves 1 only as far as many items show it should.
PRIOR = 25.0
# Fewer items than this with a vote and a knowable right answer fit nothing.
MIN_ITEMS = 50
# Newton steps at most, and the change in every scale under which the fit has converged.
STEPS = 50
TOLERANCE = 1e-6


def log_odds(accuracy: np.ndarray, m: float) -> np.ndarray:
    """log(p (m - 1) / (1 - p)) of each accuracy, p kept within [1/m, MAX_ACCURACY] as
    weighing.py keeps it."""
    p = np.clip(accuracy, 1.0 / m, MAX_ACCURACY)
    return np.log(p * (m - 1.0) / (1.0 - p))


def fit_pool(
    pool: Pool, answers: list[list[str]], items: np.ndarray, accuracy: np.ndarray, m: float
) -> dict[str, float]:
    """Each model's scale from the pool's graded answers (`answers[i][j]`: model j's parsed
    answer to item i), on `items` with `accuracy[r, j]` model j's out-of-fold accuracy on
    `items[r]`, wrong answers spread over `m` options; {} when too few items to fit."""
    rows, right = [], []
    for i in items:
        voted = [pool.answers[i, j] > 0 and bool(answers[i][j]) for j in range(len(pool.models))]
        rows.append([answers[i][j] if voted[j] else "" for j in range(len(pool.models))])
        right.append(
            {rows[-1][j] for j in range(len(pool.models)) if voted[j] and not pool.errors[i, j]}
        )
    unvoted = np.array([max(m - len({a for a in row if a}), 0.0) for row in rows])
    found = fit(rows, right, log_odds(accuracy, m), unvoted)
    return {} if found is None else dict(zip(pool.models, map(float, found), strict=True))


def fit(
    answers: list[list[str]],
    right: list[set[str]],
    factor: np.ndarray,
    unvoted: np.ndarray,
) -> np.ndarray | None:
    """The models' scales (None: too few items to fit).

    `answers[i][j]`: model j's answer to item i ("" when it gave none); `right[i]`: the answers
    graded right on item i; `factor[i, j]`: model j's log-odds factor on item i; `unvoted[i]`:
    how many plausible options nobody voted for on item i (each scores 0)."""
    n, k = factor.shape
    width = max((len({a for a in row if a}) for row in answers), default=0)
    if width == 0:
        return None
    # votes[i, o, j]: model j's factor when it gave item i's option o; target[i, o]: o is right;
    # real[i, o]: item i has an option o (items have fewer options than the widest).
    votes = np.zeros((n, width, k))
    target = np.zeros((n, width))
    real = np.zeros((n, width), dtype=bool)
    for i, row in enumerate(answers):
        for o, answer in enumerate(sorted({a for a in row if a})):
            votes[i, o] = [factor[i, j] if a == answer else 0.0 for j, a in enumerate(row)]
            target[i, o] = answer in right[i]
            real[i, o] = True
    # The right answer is a voted option, or (nobody right) one of the unvoted ones.
    keep = real.any(axis=1) & (target.any(axis=1) | (unvoted > 0))
    if keep.sum() < MIN_ITEMS:
        return None
    votes, target, real, unvoted = votes[keep], target[keep], real[keep], unvoted[keep]
    # Where several answers were graded right, each takes an equal share.
    chosen = target / np.maximum(target.sum(axis=1), 1.0)[:, None]
    problem = _Likelihood(votes, real, unvoted, np.einsum("io,iok->k", chosen, votes))
    return problem.maximise(np.ones(k))


class _Likelihood:
    """The conditional logit's penalised log-likelihood in the scales, maximised by Newton's
    method over the scales not held at a bound, with step halving."""

    def __init__(self, votes, real, unvoted, observed) -> None:
        self.votes, self.real, self.unvoted, self.observed = votes, real, unvoted, observed

    def _shares(self, scale: np.ndarray) -> tuple[np.ndarray, float]:
        """Each option's probability (the unvoted ones apart) and the log-likelihood."""
        scores = np.where(self.real, self.votes @ scale, -np.inf)
        top = np.maximum(scores.max(axis=1), 0.0)
        share = np.exp(scores - top[:, None])
        total = share.sum(axis=1) + self.unvoted * np.exp(-top)
        log_total = np.log(total) + top
        value = self.observed @ scale - log_total.sum() - PRIOR / 2 * np.sum((scale - 1.0) ** 2)
        return share / total[:, None], float(value)

    def maximise(self, scale: np.ndarray) -> np.ndarray:
        share, value = self._shares(scale)
        for _ in range(STEPS):
            mean = np.einsum("io,iok->ik", share, self.votes)
            gradient = self.observed - mean.sum(axis=0) - PRIOR * (scale - 1.0)
            second = np.einsum("io,iok,iol->kl", share, self.votes, self.votes)
            hessian = -(second - mean.T @ mean) - PRIOR * np.eye(len(scale))
            held = ((scale <= 0.0) & (gradient < 0)) | ((scale >= MAX_SCALE) & (gradient > 0))
            free = ~held
            if not free.any():
                break
            step = np.zeros_like(scale)
            step[free] = np.linalg.solve(-hessian[np.ix_(free, free)], gradient[free])
            size = 1.0
            while size > 1e-4:
                tried = np.clip(scale + size * step, 0.0, MAX_SCALE)
                tried_share, tried_value = self._shares(tried)
                if tried_value >= value:
                    break
                size /= 2
            else:
                break
            moved = np.max(np.abs(tried - scale))
            scale, share, value = tried, tried_share, tried_value
            if moved < TOLERANCE:
                break
        return scale
