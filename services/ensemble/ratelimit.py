"""A client-side request limiter per provider key, so that a batch does not turn into a storm
of 429s (NIM's free tier allows about 40 requests per minute). It models one provider's limit:
the provider applies it only to the API bases it paces (FREESCALING_ENSEMBLE_RATE_LIMIT_BASES,
NIM's by default), never to a local server or another provider.

Generic cell rate algorithm: each key has a theoretical arrival time; a request may start when
that time minus the burst allowance has come, and pushes it one interval further. In any window
of W seconds at most `burst + W * rpm / 60` requests start. Waiters are served in arrival order;
a caller whose wait would outlast its deadline is told at once and takes no slot.

The provider's limit is per key, whatever number of ensemble replicas use the key: `share()`
gives each of N replicas 1/N of the pace and of the burst (at least one request), so that N
replicas together never start more than the provider allows. N is a setting (the most replicas
that may run) rather than a count kept in learning: no call to another service on the path of
every model call, at the price of an unused share while fewer replicas run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimited(Exception):
    """Waiting for a slot would outlast the caller's deadline."""

    def __init__(self, key: str, wait_s: float) -> None:
        super().__init__(
            f"client-side rate limit for {key}: the next request slot is {wait_s:.1f} s away, "
            "beyond this call's deadline"
        )
        self.wait_s = wait_s


class RateLimiter:
    """Limiter for many keys; `rpm` 0 disables it."""

    def __init__(
        self, rpm: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rpm = rpm
        self.burst = max(1, burst)
        self.clock = clock
        self._tat: dict[str, float] = {}

    @classmethod
    def share(cls, rpm: float, burst: int, replicas: int, **kwargs) -> RateLimiter:
        """One replica's limiter when `replicas` replicas share the key's `rpm` and `burst`."""
        replicas = max(1, replicas)
        return cls(rpm / replicas, max(1, burst // replicas), **kwargs)

    @property
    def interval(self) -> float:
        return 60.0 / self.rpm if self.rpm > 0 else 0.0

    def reserve(self, key: str, deadline: float | None = None) -> float:
        """Take the next slot for `key`; returns how long to wait before starting (0 = now).
        Raises RateLimited, taking nothing, when the start would be after `deadline`."""
        if self.rpm <= 0:
            return 0.0
        now = self.clock()
        tat = max(self._tat.get(key, now), now)
        start = max(now, tat - (self.burst - 1) * self.interval)
        if deadline is not None and start > deadline:
            raise RateLimited(key, start - now)
        self._tat[key] = tat + self.interval
        return start - now

    def wait(self, key: str) -> float:
        """How long a request for `key` starting now would wait (0 = none), taking nothing."""
        if self.rpm <= 0:
            return 0.0
        now = self.clock()
        tat = max(self._tat.get(key, now), now)
        return max(0.0, tat - (self.burst - 1) * self.interval - now)

    async def acquire(self, key: str, deadline: float | None = None) -> None:
        wait = self.reserve(key, deadline)
        if wait > 0:
            await asyncio.sleep(wait)
