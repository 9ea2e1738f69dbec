"""The k=auto cascade's rule, pure: whom to ask next, and when to stop.

With profiled voters (a `Standing` from learning's WeighVoters) the cascade aims at a calibrated
confidence: it stops as soon as the answer's confidence reaches the target, and otherwise asks
one more model, never one asked before, at most `MAX_MODELS` in all:
- first, the cheapest model that alone is likely enough to be right (its expected accuracy where
  the prompt falls, calibrated, at least the target); where none is, as below from nothing;
- then, among the models not asked yet that are nearly as accurate as the most accurate
  candidate (`NEAR_BEST`; once those are asked, the cascade stops, under the target if need be:
  a much weaker model's vote is cheap, but weighed against stronger ones it costs accuracy), the
  one most likely to bring the confidence to the target per unit of cost (`outcomes`: over each
  answer it could give, how likely that answer is and what confidence it would leave). This is
  the rule for searching at least cost among tries that may each end the search (ask in order of
  chance of success over cost): a cheap model that can settle the answer by agreeing comes
  before a dear one that would settle it a little more often. Where no single addition can reach
  the target, the one with the most confidence expected per unit of cost (`expected`). A model
  that errs with those asked adds less (weighing.py's correlation discount), so additions that
  err apart come first.

Without profiles (no standing) the rule is the one kept from before calibration existed, on
vote counts: one model (the routed expert), three when it abstains, is not trusted enough or
the prompt is complex, five when the three disagree (`fallback_size`).

Nothing here knows of gRPC: the gateway's voting.py asks and records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.common.weighing import Standing, judge, posterior, weights

MAX_MODELS = 5
# An addition is chosen among the models whose expected accuracy is within this of the most
# accurate candidate, asked or not: a much weaker model is cheap evidence, but not evidence
# enough.
NEAR_BEST = 0.1


@dataclass(frozen=True)
class Cast:
    """A vote already had: the model, and its parsed answer ("" when it abstained or failed)."""

    model: str
    answer: str


@dataclass(frozen=True)
class Next:
    """The models to add (none: stop), the confidence to expect after them (the confidence now
    when stopping), and why."""

    models: list[str]
    reachable: float
    reason: str


def confidence(standing: Standing, votes: Sequence[Cast], patterns: int) -> tuple[str, float]:
    """The leader and its calibrated confidence ("" and 0 without a vote)."""
    verdict = judge(standing, [(v.model, v.answer) for v in votes if v.answer], patterns)
    return verdict.posterior.winner, verdict.confidence


def outcomes(
    standing: Standing, votes: Sequence[Cast], model: str, patterns: int
) -> list[tuple[float, float]]:
    """What `model`'s vote could do: (its chance, the confidence it would leave) for each answer
    it could give (a voted one, or one nobody gave), its chance under the current posterior and
    the model's accuracy."""
    m = standing.options(patterns)
    cast = [(v.model, v.answer) for v in votes if v.answer]
    weight = weights(standing, [*(m for m, _ in cast), model], patterns)
    now = posterior(cast, weight, m).probability if cast else {}
    p = standing.accuracy_of(model, m)
    wrong = (1 - p) / (m - 1)
    unvoted = max(m - len(now), 0.0)
    rest = (1 - sum(now.values())) / unvoted if unvoted else 0.0
    found = []
    for answer, share in [*now.items(), ("\x00unvoted", rest)]:
        chance = share * p + (1 - share) * wrong
        if answer == "\x00unvoted":
            chance *= unvoted
        if chance <= 0:
            continue
        found.append((chance, confidence(standing, [*votes, Cast(model, answer)], patterns)[1]))
    return found


def expected(standing: Standing, votes: Sequence[Cast], model: str, patterns: int) -> float:
    """The confidence to expect after `model` votes."""
    return _expectation(outcomes(standing, votes, model, patterns))


def _expectation(found: Sequence[tuple[float, float]]) -> float:
    return sum(chance * after for chance, after in found)


def plan(
    standing: Standing,
    votes: Sequence[Cast],
    candidates: Sequence[str],
    costs: Mapping[str, float],
    target: float,
    patterns: int,
) -> Next:
    """The next model to ask (none: stop). `votes` are every vote had so far (failed and
    abstaining ones included: their models are not asked again); `candidates` the models that
    may be asked, `costs` their routing costs."""
    asked = {v.model for v in votes}
    left = [m for m in candidates if m not in asked]
    leader, now = confidence(standing, votes, patterns)
    if votes and now >= target:
        return Next([], now, f"confidence {now:.2f} reaches the target {target:.2f}: stop")
    if len(asked) >= MAX_MODELS or not left:
        why = f"{MAX_MODELS} models asked" if left else "no other model to ask"
        return Next([], now, f"confidence {now:.2f} is under the target {target:.2f}; {why}: stop")
    m_eff = standing.options(patterns)

    def cost(m: str) -> float:
        return max(costs.get(m, 0.0), 1e-9)

    def alone(m: str) -> float:
        return standing.calibrate(standing.accuracy_of(m, m_eff), 1)

    if not votes:
        sure = [m for m in left if alone(m) >= target]
        if sure:
            m = min(sure, key=lambda x: (cost(x), -alone(x), x))
            why = f"the cheapest model likely enough to be right alone ({alone(m):.2f})"
            return Next([m], alone(m), why)
    best = max(standing.accuracy_of(m, m_eff) for m in candidates)
    near = [m for m in left if standing.accuracy_of(m, m_eff) >= best - NEAR_BEST]
    if not near:
        return Next(
            [],
            now,
            f"confidence {now:.2f} is under the target {target:.2f}; no model left within "
            f"{NEAR_BEST:g} of the most accurate ({best:.2f}): stop",
        )
    found = {m: outcomes(standing, votes, m, patterns) for m in near}
    gains = {m: _expectation(o) for m, o in found.items()}
    reach = {m: sum(c for c, after in o if after >= target) for m, o in found.items()}
    opening = (
        f"confidence {now:.2f} ({leader or 'no answer'}) is under the target {target:.2f}"
        if votes
        else f"no model alone reaches {target:.2f}"
    )
    if any(r > 0 for r in reach.values()):
        chosen = min(near, key=lambda m: (-reach[m] / cost(m), -gains[m], m))
        why = (
            f"{opening}: ask {chosen}, the likeliest to reach it per unit of cost "
            f"({reach[chosen]:.2f} at cost {costs.get(chosen, 0.0):g})"
        )
    else:
        chosen = min(near, key=lambda m: (-(gains[m] - now) / cost(m), -gains[m], m))
        unreachable = ", and no one more vote reaches it" if votes else ""
        why = (
            f"{opening}{unreachable}: ask {chosen}, the most confidence expected per unit of "
            f"cost ({gains[chosen]:.2f} expected)"
        )
    within = f"among the models within {NEAR_BEST:g} of the most accurate"
    return Next([chosen], gains[chosen], f"{why}, {within}")


def fallback_size(asked: int, agreed_all: bool, clear_single: bool) -> int:
    """Without profiles: how many votes the next step should count in all (0: stop). After one
    model, 3 unless it answered clearly and is trusted; after three, 5 unless all agreed."""
    if asked == 0:
        return 1
    if asked == 1:
        return 0 if clear_single else 3
    if asked < 5:
        return 0 if agreed_all else 5
    return 0
