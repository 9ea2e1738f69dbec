"""The model's outputs for texts seen lately, so that a prompt classified again (a vote after
its Route, a retry, the same question from many users) costs no forward pass. What is kept is
what the checkpoint and the embedder computed for the text: deterministic for loaded weights,
so a hit answers exactly as a pass would; the cluster is assigned afresh (centroids change).
Keyed by the embedder's id and whether scores were computed, bounded (least recently used
first out), in this process only: it is a cache, not state."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Kept:
    scores: object  # postprocess.Scores | None
    embedding: np.ndarray
    truncated: bool
    token_count: int


class OutputCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[tuple, Kept] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, space: str, scored: bool, text: str) -> Kept | None:
        if not self.size:
            return None
        found = self._kept.get((space, scored, text))
        if found is None:
            self.misses += 1
            return None
        self._kept.move_to_end((space, scored, text))
        self.hits += 1
        return found

    def put(self, space: str, scored: bool, text: str, kept: Kept) -> None:
        if not self.size:
            return
        self._kept[(space, scored, text)] = kept
        self._kept.move_to_end((space, scored, text))
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
