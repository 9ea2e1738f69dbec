"""The shadow challenger: one model from outside the panel answers the same question in
parallel. It does not vote; its agreement with the outcome is A/B data for learning. To spread
that data across the pool, the least-chosen eligible model is picked (registry order breaks
ties)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from services.ensemble.pool import Pool
from services.ensemble.registry import Model


class ShadowPicker:
    def __init__(self) -> None:
        self.chosen: Counter[str] = Counter()

    def pick(self, pool: Pool, panel: Sequence[Model], voted: Sequence[str] = ()) -> Model | None:
        """An outsider to the panel and to `voted` (models whose votes were cast earlier in the
        call and carried into this vote: they are voters too, not challengers)."""
        inside = [*(m.alias for m in panel), *voted]
        candidates = pool.outsiders(inside, (m.provider for m in panel))
        if not candidates:
            return None
        choice = min(candidates, key=lambda m: self.chosen[m.alias])
        self.chosen[choice.alias] += 1
        return choice
