"""Model health: probe models in parallel with a tiny prompt and say ok, slow, dead or error,
with latency. A 404/410 puts the model in the dead-model table; an answer takes it out. Probes
can also run periodically in the background (off by default: the service never calls a
provider on its own unless told to)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from services.ensemble.pool import Pool
from services.ensemble.registry import Model

logger = logging.getLogger(__name__)

OK, SLOW, DEAD, ERROR = "ok", "slow", "dead", "error"
PROBE_MESSAGES = [{"role": "user", "content": "Reply with the single word OK."}]
# Enough room for a thinking model to start; the answer itself does not matter.
PROBE_MAX_TOKENS = 16


@dataclass
class ProbeResult:
    model: str
    status: str
    latency_ms: float = 0.0
    error: str = ""
    checked_at: float = 0.0  # wall-clock time
    dead_until: float | None = None  # the dead table's clock (wall-clock time)


async def probe_one(pool: Pool, model: Model, timeout_s: float, slow_s: float) -> ProbeResult:
    checked_at = time.time()
    begun = pool.clock()
    try:
        await pool.provider.complete(
            model, PROBE_MESSAGES, begun + timeout_s, max_tokens=PROBE_MAX_TOKENS
        )
    except Exception as exc:  # ProviderError, or anything litellm lets through
        message = getattr(exc, "message", None) or f"{model.alias}: {type(exc).__name__}"
        if getattr(exc, "kind", "") == "dead":
            until = pool.mark_dead(model, message)
            return ProbeResult(model.alias, DEAD, 0.0, message, checked_at, until)
        return ProbeResult(model.alias, ERROR, 0.0, message, checked_at)
    latency = pool.clock() - begun
    pool.dead.revive(model.alias)
    status = SLOW if latency > slow_s else OK
    return ProbeResult(model.alias, status, latency * 1000, "", checked_at)


async def probe(
    pool: Pool, models: Sequence[Model], timeout_s: float, slow_s: float
) -> list[ProbeResult]:
    """Probe every model at once; results in the order asked."""
    return list(await asyncio.gather(*(probe_one(pool, m, timeout_s, slow_s) for m in models)))


class BackgroundProber:
    """Probes the whole registry every `interval_s` seconds until stopped."""

    def __init__(self, pool: Pool, interval_s: float, timeout_s: float, slow_s: float) -> None:
        self.pool, self.interval_s = pool, interval_s
        self.timeout_s, self.slow_s = timeout_s, slow_s
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self.interval_s > 0:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            results = await probe(
                self.pool, list(self.pool.registry.models.values()), self.timeout_s, self.slow_s
            )
            counts = {s: sum(r.status == s for r in results) for s in (OK, SLOW, DEAD, ERROR)}
            logger.info("background probe: %s", counts, extra={"probe": counts})
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
