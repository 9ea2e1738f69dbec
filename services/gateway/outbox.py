"""The outbox toward learning: every call's record is handed over without delaying or failing
the user's answer, then delivered in the background with retries and back-off. Delivery is
idempotent on learning's side (by call_id), so a record sent twice is stored once. Bounded:
when full, new records are dropped, counted and logged. With a spool directory, each record is
also written to disk until delivered, so a restart (or a crash of this process) loses nothing;
pending records are flushed on graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter, Gauge

from freescaling.common.v1 import records_pb2

logger = logging.getLogger(__name__)

OUTBOX_DEPTH = Gauge("freescaling_outbox_depth", "Call records waiting for delivery to learning")
OUTBOX_DROPPED = Counter(
    "freescaling_outbox_dropped", "Call records dropped, by reason", ["reason"]
)
OUTBOX_SENT = Counter("freescaling_outbox_sent", "Call records delivered to learning")
OUTBOX_RETRIES = Counter("freescaling_outbox_retries", "Failed delivery attempts, later retried")

Send = Callable[[records_pb2.CallRecord], Awaitable[None]]


class PermanentError(Exception):
    """Learning refused the record for good (e.g. INVALID_ARGUMENT): retrying cannot help."""


@dataclass(frozen=True)
class OutboxPolicy:
    capacity: int = 10_000
    senders: int = 4
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 30.0


class Outbox:
    def __init__(self, send: Send, policy: OutboxPolicy, spool_dir: Path | None = None) -> None:
        self._send, self.policy, self.spool_dir = send, policy, spool_dir
        self._queue: asyncio.Queue[records_pb2.CallRecord] = asyncio.Queue()
        self._pending: set[str] = set()
        self._workers: list[asyncio.Task] = []
        self._closing = False
        if spool_dir:
            spool_dir.mkdir(parents=True, exist_ok=True)

    @property
    def depth(self) -> int:
        return len(self._pending)

    def put(self, record: records_pb2.CallRecord) -> bool:
        """Queue a record for delivery; never blocks. False when it was dropped (full, closing)."""
        if record.call_id in self._pending:
            return True  # already on its way; learning would ignore the copy anyway
        if self._closing or self.depth >= self.policy.capacity:
            reason = "closing" if self._closing else "full"
            OUTBOX_DROPPED.labels(reason).inc()
            logger.error(
                "outbox %s: dropped the record of call %s (%d waiting, capacity %d)",
                reason,
                record.call_id,
                self.depth,
                self.policy.capacity,
            )
            return False
        if self.spool_dir:
            self._spool(record)
        self._enqueue(record)
        return True

    def _enqueue(self, record: records_pb2.CallRecord) -> None:
        self._pending.add(record.call_id)
        OUTBOX_DEPTH.set(self.depth)
        self._queue.put_nowait(record)

    # --- spool ------------------------------------------------------------------------------

    def _spool_path(self, call_id: str) -> Path:
        assert self.spool_dir is not None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in call_id)
        return self.spool_dir / f"{safe}.record"

    def _spool(self, record: records_pb2.CallRecord) -> None:
        path = self._spool_path(record.call_id)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(record.SerializeToString())
        os.replace(temporary, path)  # atomic: a half-written record is never read back

    def _unspool(self, call_id: str) -> None:
        if self.spool_dir:
            self._spool_path(call_id).unlink(missing_ok=True)

    def _recover(self) -> int:
        """Queue the records a previous process left in the spool, oldest first."""
        assert self.spool_dir is not None
        files = sorted(self.spool_dir.glob("*.record"), key=lambda p: p.stat().st_mtime)
        for path in files:
            try:
                record = records_pb2.CallRecord.FromString(path.read_bytes())
            except Exception:
                logger.error("outbox: unreadable spool file %s kept aside", path)
                path.rename(path.with_suffix(".unreadable"))
                continue
            self._enqueue(record)
        return len(files)

    # --- delivery ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self.spool_dir:
            recovered = self._recover()
            if recovered:
                logger.info("outbox: %d records recovered from %s", recovered, self.spool_dir)
        self._workers = [
            asyncio.create_task(self._deliver(), name=f"outbox-{i}")
            for i in range(self.policy.senders)
        ]

    async def _deliver(self) -> None:
        while True:
            record = await self._queue.get()
            backoff = self.policy.initial_backoff_s
            while True:
                try:
                    await self._send(record)
                    OUTBOX_SENT.inc()
                    break
                except PermanentError as exc:
                    OUTBOX_DROPPED.labels("rejected").inc()
                    logger.error(
                        "outbox: learning rejected call %s for good: %s", record.call_id, exc
                    )
                    break
                except Exception as exc:
                    OUTBOX_RETRIES.inc()
                    logger.warning(
                        "outbox: delivery of call %s failed (%s); retrying in %.1f s",
                        record.call_id,
                        exc,
                        backoff,
                    )
                    # Full jitter keeps many gateways from retrying in step after an outage.
                    await asyncio.sleep(random.uniform(backoff / 2, backoff))
                    backoff = min(backoff * 2, self.policy.max_backoff_s)
            self._pending.discard(record.call_id)
            self._unspool(record.call_id)
            OUTBOX_DEPTH.set(self.depth)
            self._queue.task_done()

    async def close(self, flush_timeout_s: float) -> int:
        """Stop taking records, try to deliver what is waiting, return how many are left."""
        self._closing = True
        started = time.monotonic()
        # Whatever is not delivered in time is reported (and stays spooled) below.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout=flush_timeout_s)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        left = self.depth
        if left and self.spool_dir:
            logger.warning(
                "outbox: %d records not delivered within %.1f s stay in %s for the next start",
                left,
                time.monotonic() - started,
                self.spool_dir,
            )
        elif left:
            OUTBOX_DROPPED.labels("shutdown").inc(left)
            logger.error(
                "outbox: %d records lost at shutdown (no spool directory): %s",
                left,
                ", ".join(sorted(self._pending)),
            )
        return left
