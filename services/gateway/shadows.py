"""Shadow challengers still answering when their call's answer goes out: the rest of the
ensemble's stream is read in the background, and the late vote goes through the outbox to the
call's record (Learning.AttachShadows). A shadow that fails, or outlives the gateway's wait or
the gateway itself, is recorded with its error, so no record waits for a vote forever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from freescaling.common.v1 import voting_pb2
from services.gateway.downstream import DownstreamError
from services.gateway.outbox import Outbox

logger = logging.getLogger(__name__)


class LateShadows:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._tasks: set[asyncio.Task] = set()
        self._closing = False

    def follow(self, pending: dict[str, str], votes: AsyncIterator) -> None:
        """Read `votes` (the rest of a ScaleStream, or of a ScaleBatch once every item is
        answered) in the background; each ShadowVote goes to the outbox. `pending` maps each
        call still waiting for its shadow to the shadow's alias."""
        pending = dict(pending)
        task = asyncio.create_task(self._read(pending, votes), name="late-shadows")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, pending: dict[str, str], votes: AsyncIterator) -> None:
        why = "the ensemble ended the stream without the shadow's vote"
        try:
            async for event in votes:
                if event.HasField("shadow"):
                    self.outbox.put_shadow(event.shadow)
                    pending.pop(event.shadow.call_id, None)
        except DownstreamError as exc:
            why = exc.message
        except asyncio.CancelledError:
            # Abandoned on purpose (a cascade step that did not decide) records nothing.
            if self._closing:
                self._failed(pending, "the gateway stopped before the shadow answered")
            raise
        finally:
            with contextlib.suppress(Exception):
                await votes.aclose()
        self._failed(pending, why)

    def _failed(self, pending: dict[str, str], why: str) -> None:
        for call_id, model in pending.items():
            logger.info("late shadow %s of call %s recorded as failed: %s", model, call_id, why)
            self.outbox.put_shadow(
                voting_pb2.ShadowVote(call_id=call_id, vote=voting_pb2.Vote(model=model, error=why))
            )

    async def close(self) -> None:
        """Stop listening: each shadow still out is recorded failed (before the outbox's last
        flush, which should follow)."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
