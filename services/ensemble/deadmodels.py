"""The dead-model table: a model that answered 404/410 is skipped by every call until its TTL
expires, then tried again. Time comes from an injected clock so tests never sleep."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import Gauge

DEAD_MODELS = Gauge("freescaling_dead_models", "Models in the dead-model table now")


class DeadModels:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._until: dict[str, float] = {}
        self._why: dict[str, str] = {}

    def mark(self, alias: str, why: str) -> float:
        """Record `alias` as dead for the TTL; returns when it will be retried (clock time)."""
        until = self.clock() + self.ttl_s
        self._until[alias] = until
        self._why[alias] = why
        DEAD_MODELS.set(len(self._until))
        return until

    def revive(self, alias: str) -> None:
        self._until.pop(alias, None)
        self._why.pop(alias, None)
        DEAD_MODELS.set(len(self._until))

    def until(self, alias: str) -> float | None:
        """When a dead model will be retried, or None when it is alive (or its TTL expired)."""
        until = self._until.get(alias)
        if until is None:
            return None
        if self.clock() >= until:
            self.revive(alias)
            return None
        return until

    def is_dead(self, alias: str) -> bool:
        return self.until(alias) is not None

    def why(self, alias: str) -> str:
        return self._why.get(alias, "") if self.is_dead(alias) else ""
