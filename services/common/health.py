"""grpc.health.v1 for a service: the library's asyncio servicer with a status per exposed name
(liveness "" and readiness, the service's full name), and Watch streams that end once shutdown
begins, right after telling their watcher NOT_SERVING, so they do not hold up the drain."""

from __future__ import annotations

import asyncio
import logging

from grpc_health.v1 import health, health_pb2

logger = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

# The liveness name: SERVING from start until shutdown begins. Readiness is the service's own
# fully qualified name, which a service turns NOT_SERVING while it cannot do its work.
LIVENESS = ""

# How long shutdown waits for watchers to be sent NOT_SERVING before ending their streams.
_WATCH_FAREWELL_S = 1.0


class _NotingContext:
    """A servicer context that remembers the last status written to the stream."""

    def __init__(self, context) -> None:
        self._context = context
        self.last_status: int | None = None

    async def write(self, message: health_pb2.HealthCheckResponse) -> None:
        await self._context.write(message)
        self.last_status = message.status

    def __getattr__(self, name: str):
        return getattr(self._context, name)


class _HealthServicer(health.aio.HealthServicer):
    def __init__(self) -> None:
        super().__init__()
        self._watches: dict[asyncio.Task, _NotingContext] = {}
        self._closing = False

    async def Watch(self, request, context) -> None:
        noting = _NotingContext(context)
        task = asyncio.current_task()
        assert task is not None
        self._watches[task] = noting
        try:
            await super().Watch(request, noting)
        except asyncio.CancelledError:
            if not self._closing:
                raise
            # Ended by shutdown: close the stream normally, the watcher has NOT_SERVING.
        finally:
            self._watches.pop(task, None)

    async def end_watches(self) -> None:
        self._closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _WATCH_FAREWELL_S
        while loop.time() < deadline and any(
            n.last_status != NOT_SERVING for n in self._watches.values()
        ):
            await asyncio.sleep(0.01)
        for task in list(self._watches):
            task.cancel()


class Health:
    """The service's health statuses."""

    def __init__(self, readiness_name: str) -> None:
        self.servicer = _HealthServicer()
        self.readiness_name = readiness_name
        self.ready = False
        # Why readiness is NOT_SERVING, for GetInfo and the log; empty when ready or unknown.
        self.reason = ""

    async def start(self) -> None:
        await self.servicer.set(LIVENESS, SERVING)
        await self.servicer.set(self.readiness_name, NOT_SERVING)

    async def set_ready(self, ready: bool, reason: str = "") -> None:
        if ready != self.ready:
            logger.info(
                "readiness %s: %s%s",
                self.readiness_name,
                "SERVING" if ready else "NOT_SERVING",
                f" ({reason})" if reason and not ready else "",
            )
        self.ready = ready
        self.reason = "" if ready else reason
        await self.servicer.set(self.readiness_name, SERVING if ready else NOT_SERVING)

    async def shut_down(self) -> None:
        """Every name NOT_SERVING for good; Watch streams told so, then ended."""
        self.ready = False
        await self.servicer.enter_graceful_shutdown()
        await self.servicer.end_watches()
