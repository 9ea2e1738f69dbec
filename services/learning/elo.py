"""Pure ELO arithmetic on integer milli-points.

Each pairwise game (winner, loser) moves the winner up by d and the loser down by the same d,
where d = round(K * 1000 * (1 - E)) and E = 1 / (1 + 10 ** ((R_loser - R_winner) / 400)) is the
winner's expected score. Every delta of one event is computed from the ratings BEFORE the event
and the deltas are summed, so the result does not depend on the order of the games, and the sum
of all ratings never changes (1500 x models, exactly, since ratings are integers).

Consensus rules (after a scale call, K = 16):
- Only a call with a majority answer moves ratings. A tie, an all-abstain or a call with no
  answer moves nothing.
- Voters are panel votes with a parsed answer. Abstentions, errors and cancelled calls neither
  win nor lose. The shadow challenger does not vote; its agreement is learning data for
  feedback (A/B), not for the consensus.
- Each voter with the majority answer beats each voter with another answer. Unanimity (nobody
  against) moves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

INITIAL_MILLI = 1_500_000


def expected(winner_milli: int, loser_milli: int) -> float:
    return 1.0 / (1.0 + 10.0 ** ((loser_milli - winner_milli) / 400_000.0))


@dataclass
class Outcome:
    """Rating deltas (milli-points) and pairwise win/loss counts of one event."""

    deltas: dict[str, int] = field(default_factory=dict)
    wins: dict[str, int] = field(default_factory=dict)
    losses: dict[str, int] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        return sorted(set(self.deltas) | set(self.wins) | set(self.losses))


def pairwise(
    ratings: Mapping[str, int], winners: Iterable[str], losers: Iterable[str], k: float
) -> Outcome:
    """Every winner beats every loser; deltas from the ratings before the event."""
    winners, losers = sorted(set(winners)), sorted(set(losers))
    outcome = Outcome()
    for w in winners:
        for lo in losers:
            if w == lo:
                continue
            d = round(k * 1000 * (1.0 - expected(ratings[w], ratings[lo])))
            outcome.deltas[w] = outcome.deltas.get(w, 0) + d
            outcome.deltas[lo] = outcome.deltas.get(lo, 0) - d
            outcome.wins[w] = outcome.wins.get(w, 0) + 1
            outcome.losses[lo] = outcome.losses.get(lo, 0) + 1
    return outcome


def consensus(
    ratings: Mapping[str, int], answers: Mapping[str, str], majority: str, k: float
) -> Outcome:
    """`answers`: each panel voter's parsed answer (abstainers left out); `majority`: the call's
    answer, empty when the call ended without one."""
    if not majority:
        return Outcome()
    winners = [m for m, a in answers.items() if a == majority]
    losers = [m for m, a in answers.items() if a != majority]
    return pairwise(ratings, winners, losers, k)
