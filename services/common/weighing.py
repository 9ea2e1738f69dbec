"""Weighted votes: the probability that each answer is right, given who voted what.

Each voter i has an expected accuracy p_i where the prompt falls (its profile). Wrong answers
are taken to fall on one of the m - 1 other plausible options, where m is the number of options
a wrong answer really spreads over: 1 / (the chance that two wrong answers coincide, measured on
the profiling items), at most the request's number of patterns. A vote for answer a then
multiplies a's odds by (p_i (m - 1) / (1 - p_i)) ** w_i, and with a uniform prior over the m
plausible options

    P(a is right | votes) = exp(s_a) / (sum over voted b of exp(s_b) + m - voted options)
    s_a = sum over voters i who said a of w_i log(p_i (m - 1) / (1 - p_i))

(a single voter's answer is then right with probability p_i, as its profile says). Voters whose
errors go together say less than independent ones: w_i = 1 / (1 + the sum of its positive error
correlations with the others asked), so two voters that always err together count as one. This
raw posterior assumes more independence than there is; the calibration map, fitted on votes
simulated from the profiling data (learning's calibration.py), one per number of votes cast,
turns it into the probability the answer is right. With no profiled voter the rule is majority
and the confidence a vote share.

Pure: nothing here knows of gRPC or the database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# Accuracies are kept off 0 and 1 so that one voter is never certain; a voter no better than
# chance carries no weight (its vote is not counted against its answer).
MAX_ACCURACY = 0.98
# Score differences under this are ties.
TIE_EPS = 1e-9


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from raw posterior to probability (knots; linear between, flat beyond)."""

    raw: tuple[float, ...] = ()
    calibrated: tuple[float, ...] = ()

    def __call__(self, x: float) -> float:
        if not self.raw:
            return x
        raw, cal = self.raw, self.calibrated
        if x <= raw[0]:
            return cal[0]
        if x >= raw[-1]:
            return cal[-1]
        lo, hi = 0, len(raw) - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if raw[mid] <= x:
                lo = mid
            else:
                hi = mid
        span = raw[hi] - raw[lo]
        t = (x - raw[lo]) / span if span > 0 else 0.0
        return cal[lo] + t * (cal[hi] - cal[lo])


@dataclass(frozen=True)
class Standing:
    """What the vote knows of its voters on this prompt."""

    accuracy: Mapping[str, float]
    evidence: Mapping[str, str] = field(default_factory=dict)
    correlation: Mapping[frozenset, float] = field(default_factory=dict)
    # One map per number of cast votes; the largest covers that many or more.
    calibrators: Mapping[int, Calibrator] = field(default_factory=dict)
    coincidence: float = 0.0

    def calibrate(self, raw: float, votes: int) -> float:
        """The probability that a winner with this raw posterior and this many cast votes is
        right (the raw posterior itself where no map covers it)."""
        fitted = [n for n in self.calibrators if n <= votes]
        return self.calibrators[max(fitted)](raw) if fitted else raw

    @property
    def profiled(self) -> bool:
        return bool(self.accuracy)

    def default_accuracy(self) -> float:
        """For a voter not profiled: the mean of those that are."""
        return sum(self.accuracy.values()) / len(self.accuracy) if self.accuracy else 0.5

    def options(self, patterns: int) -> float:
        """m: the options a wrong answer spreads over, at most the request's patterns."""
        m = float(max(patterns, 2))
        if self.coincidence > 0:
            m = min(m, 1.0 + 1.0 / self.coincidence)
        return max(m, 2.0)

    def accuracy_of(self, model: str, m: float) -> float:
        p = self.accuracy.get(model)
        if p is None:
            p = self.default_accuracy()
        return min(max(p, 1.0 / m), MAX_ACCURACY)


@dataclass(frozen=True)
class Weight:
    """One voter's weight in this vote and why."""

    accuracy: float
    discount: float
    log_odds: float
    reason: str


def weights(standing: Standing, panel: Sequence[str], patterns: int) -> dict[str, Weight]:
    """Each panel member's weight: its log-odds factor, discounted by its positive error
    correlations with the rest of the panel."""
    m = standing.options(patterns)
    out: dict[str, Weight] = {}
    for model in panel:
        p = standing.accuracy_of(model, m)
        shared = [
            (other, standing.correlation.get(frozenset((model, other)), 0.0))
            for other in panel
            if other != model
        ]
        positive = [(o, c) for o, c in shared if c > 0]
        discount = 1.0 / (1.0 + sum(c for _, c in positive))
        log_odds = discount * math.log(p * (m - 1) / (1 - p))
        if model in standing.accuracy:
            why = standing.evidence.get(model) or f"expected accuracy {p:.2f}"
        else:
            why = f"not profiled: the profiled voters' mean accuracy {p:.2f}"
        if positive:
            named = ", ".join(f"{o} {c:.2f}" for o, c in sorted(positive, key=lambda x: -x[1]))
            why += f"; errs with {named}: weight x{discount:.2f}"
        out[model] = Weight(p, discount, log_odds, why)
    return out


@dataclass(frozen=True)
class Posterior:
    """Each voted answer's raw probability of being right, and the winner (empty on a tie)."""

    probability: dict[str, float]
    winner: str
    raw: float


def _scores(votes: Iterable[tuple[str, str]], weight: Mapping[str, Weight]) -> dict[str, float]:
    """Each voted answer's summed log-odds."""
    scores: dict[str, float] = {}
    for model, answer in votes:
        scores[answer] = scores.get(answer, 0.0) + weight[model].log_odds
    return scores


def posterior(
    votes: Iterable[tuple[str, str]], weight: Mapping[str, Weight], m: float
) -> Posterior:
    """`votes` are (model, answer) of the voters that answered."""
    scores = _scores(votes, weight)
    if not scores:
        return Posterior({}, "", 0.0)
    top = max(scores.values())
    unvoted = max(m - len(scores), 0.0)
    total = sum(math.exp(s - top) for s in scores.values()) + unvoted * math.exp(-top)
    probability = {a: math.exp(s - top) / total for a, s in scores.items()}
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] <= TIE_EPS:
        return Posterior(probability, "", probability[ranked[0][0]])
    return Posterior(probability, ranked[0][0], probability[ranked[0][0]])


@dataclass(frozen=True)
class Verdict:
    """A vote weighed: each voter's weight, the raw posterior, and its calibrated confidence."""

    weight: dict[str, Weight]
    posterior: Posterior
    confidence: float


def judge(standing: Standing, votes: Sequence[tuple[str, str]], patterns: int) -> Verdict:
    """The vote of those who answered ((model, answer) each; they discount each other by their
    error correlations); no vote has confidence 0."""
    weight = weights(standing, [model for model, _ in votes], patterns)
    found = posterior(votes, weight, standing.options(patterns))
    return Verdict(weight, found, standing.calibrate(found.raw, len(votes)))


def certain(
    votes: Iterable[tuple[str, str]],
    weight: Mapping[str, Weight],
    pending: Iterable[str],
    patterns: int,
) -> bool:
    """True when no way the pending voters could vote changes the winner: the leader's score
    exceeds every other option's (an unvoted one scores 0) by more than they could add."""
    scores = _scores(votes, weight)
    if not scores:
        return False
    ranked = sorted(scores.values(), reverse=True)
    runner_up = ranked[1] if len(ranked) > 1 else 0.0
    if len(scores) < patterns:
        runner_up = max(runner_up, 0.0)
    reachable = sum(max(weight[m].log_odds, 0.0) for m in pending)
    return ranked[0] - runner_up > reachable + TIE_EPS
