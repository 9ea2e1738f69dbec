"""The outbox toward learning: every call's record is handed over without delaying or failing
the user's answer, then delivered in the background with retries and back-off. Delivery is
idempotent on learning's side (by call_id), so a record sent twice is stored once. Bounded:
when full, new records are dropped, counted and logged. With a spool directory, each record is
also written to disk until delivered, so a restart (or a crash of this process) loses nothing;
pending records are flushed on graceful shutdown.

Records travel in batches: a sender takes what is waiting (up to `batch_size` records and
`batch_bytes`), and when that is less than a full batch it lingers `linger_s` for more first,
as a Kafka producer does. Under load that turns many RPCs into one (and one transaction on
learning's side); at low load it moves each delivery off the moment the answer is sent and the
next request arrives, so recording does not compete with answering. Feedback that names a call
still on its way waits for it (`settled`), so it never misses a call the user has just seen.

A shadow challenger that answers after its call (`put_shadow`) travels the same way, as a
ShadowVote for Learning.AttachShadows. It is held back while its call's record is still
waiting, so learning always has the call first; if the record is refused, so is the vote."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter, Gauge

from freescaling.common.v1 import records_pb2, voting_pb2

logger = logging.getLogger(__name__)

# What the outbox carries: a call's record, or a late shadow vote to attach to one.
Entry = records_pb2.CallRecord | voting_pb2.ShadowVote

OUTBOX_DEPTH = Gauge("freescaling_outbox_depth", "Call records waiting for delivery to learning")
OUTBOX_DROPPED = Counter(
    "freescaling_outbox_dropped", "Call records dropped, by reason", ["reason"]
)
OUTBOX_SENT = Counter("freescaling_outbox_sent", "Call records delivered to learning")
OUTBOX_RETRIES = Counter(
    "freescaling_outbox_retries", "Record deliveries that failed and will be retried"
)

# Delivers a batch (records and shadow votes, in order); per entry, None when stored (or found
# already stored), PermanentError when learning refused it for good, another exception to retry
# it. Raising retries the whole batch.
Send = Callable[[list[Entry]], Awaitable[list[Exception | None]]]


def _key(entry: Entry) -> str:
    return f"shadow:{entry.call_id}" if isinstance(entry, voting_pb2.ShadowVote) else entry.call_id


def _discard(ready: Awaitable[None]) -> None:
    """Drop a completion that will not run (a coroutine never awaited warns otherwise)."""
    close = getattr(ready, "close", None)
    if close is not None:
        close()


class PermanentError(Exception):
    """Learning refused the record for good (e.g. INVALID_ARGUMENT): retrying cannot help."""


@dataclass(frozen=True)
class OutboxPolicy:
    capacity: int = 10_000
    senders: int = 4
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 30.0
    batch_size: int = 64
    batch_bytes: int = 4 * 1024 * 1024
    linger_s: float = 0.0


class Outbox:
    def __init__(self, send: Send, policy: OutboxPolicy, spool_dir: Path | None = None) -> None:
        self._send, self.policy, self.spool_dir = send, policy, spool_dir
        self._queue: collections.deque[Entry] = collections.deque()
        self._arrived = asyncio.Event()
        # Key (call_id, or "shadow:" + call_id) -> message_id of every entry not yet delivered
        # (or dropped).
        self._pending: dict[str, str] = {}
        # call_id -> its late shadow vote, waiting for the call's record to be delivered.
        self._parked: dict[str, voting_pb2.ShadowVote] = {}
        # Records being completed before they leave (put_later).
        self._completing: set[asyncio.Task] = set()
        self._message_ids: collections.Counter[str] = collections.Counter()
        self._delivered = asyncio.Condition()
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
        if not self._room(record, "record"):
            return False
        if self.spool_dir:
            self._spool(record)
        self._enqueue(record)
        return True

    def put_later(self, record: records_pb2.CallRecord, ready: Awaitable[None]) -> bool:
        """Queue a record that is still being completed after the answer went out (a fixed-k
        call's classification): it counts as waiting at once (feedback waits for it, the spool
        keeps it as it is), and leaves once `ready` is done, or has failed: then as it is.
        `ready` must bound its own time. False when it was dropped (full, closing)."""
        if record.call_id in self._pending:
            _discard(ready)
            return True
        if not self._room(record, "record"):
            _discard(ready)
            return False
        if self.spool_dir:
            self._spool(record)
        self._register(record)
        task = asyncio.create_task(self._when_ready(record, ready))
        self._completing.add(task)
        task.add_done_callback(self._completing.discard)
        return True

    async def _when_ready(self, record: records_pb2.CallRecord, ready: Awaitable[None]) -> None:
        try:
            await ready
        except Exception:
            logger.exception("outbox: completing the record of call %s failed", record.call_id)
        if self.spool_dir:
            self._spool(record)
        self._queue.append(record)
        self._arrived.set()

    def put_shadow(self, shadow: voting_pb2.ShadowVote) -> bool:
        """Queue a late shadow vote for its call; never blocks. It leaves after the call's
        record when that is still waiting here. False when it was dropped (full, closing)."""
        if _key(shadow) in self._pending:
            return True
        if not self._room(shadow, "late shadow vote"):
            return False
        if self.spool_dir:
            self._spool(shadow)
        self._place_shadow(shadow)
        return True

    def _place_shadow(self, shadow: voting_pb2.ShadowVote) -> None:
        if shadow.call_id in self._pending:
            self._pending[_key(shadow)] = ""
            self._parked[shadow.call_id] = shadow
            OUTBOX_DEPTH.set(self.depth)
        else:
            self._enqueue(shadow)

    def _room(self, entry: Entry, what: str) -> bool:
        if self._closing or self.depth >= self.policy.capacity:
            reason = "closing" if self._closing else "full"
            OUTBOX_DROPPED.labels(reason).inc()
            logger.error(
                "outbox %s: dropped the %s of call %s (%d waiting, capacity %d)",
                reason,
                what,
                entry.call_id,
                self.depth,
                self.policy.capacity,
            )
            return False
        return True

    def _register(self, entry: Entry) -> None:
        message_id = getattr(entry, "message_id", "")
        self._pending[_key(entry)] = message_id
        if message_id:
            self._message_ids[message_id] += 1
        OUTBOX_DEPTH.set(self.depth)

    def _enqueue(self, entry: Entry) -> None:
        self._register(entry)
        self._queue.append(entry)
        self._arrived.set()

    def _waiting(self, call_or_message_id: str) -> bool:
        return (
            call_or_message_id in self._pending
            or f"shadow:{call_or_message_id}" in self._pending
            or call_or_message_id in self._message_ids
        )

    async def settled(self, call_or_message_id: str, timeout_s: float) -> bool:
        """Wait until no record (nor late shadow vote) with this call id, or record with this
        external message id, is waiting for delivery, at most `timeout_s`; False when one
        still is."""
        return await self._until(lambda: not self._waiting(call_or_message_id), timeout_s)

    async def _until(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Wait (at most `timeout_s`) for deliveries to make `condition` true; returns it."""
        if not condition():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s), self._delivered:
                    await self._delivered.wait_for(condition)
        return condition()

    # --- spool ------------------------------------------------------------------------------

    def _spool_path(self, entry: Entry) -> Path:
        assert self.spool_dir is not None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in entry.call_id)
        kind = "shadow" if isinstance(entry, voting_pb2.ShadowVote) else "record"
        return self.spool_dir / f"{safe}.{kind}"

    def _spool(self, entry: Entry) -> None:
        path = self._spool_path(entry)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(entry.SerializeToString())
        os.replace(temporary, path)  # atomic: a half-written entry is never read back

    def _unspool(self, entry: Entry) -> None:
        if self.spool_dir:
            self._spool_path(entry).unlink(missing_ok=True)

    def _recover(self) -> dict[str, int]:
        """Queue what a previous process left in the spool, oldest first: records, then the
        late shadow votes (held back behind their records as usual). Returns how many of each
        were read back."""
        assert self.spool_dir is not None
        count = {"record": 0, "shadow": 0}
        for suffix, kind in (("record", records_pb2.CallRecord), ("shadow", voting_pb2.ShadowVote)):
            files = sorted(self.spool_dir.glob(f"*.{suffix}"), key=lambda p: p.stat().st_mtime)
            for path in files:
                try:
                    entry = kind.FromString(path.read_bytes())
                except Exception:
                    logger.error("outbox: unreadable spool file %s kept aside", path)
                    path.rename(path.with_suffix(".unreadable"))
                    continue
                count[suffix] += 1
                if isinstance(entry, voting_pb2.ShadowVote):
                    self._place_shadow(entry)
                else:
                    self._enqueue(entry)
        return count

    # --- delivery ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self.spool_dir:
            recovered = self._recover()
            if any(recovered.values()):
                logger.info(
                    "outbox: %d records and %d late shadow votes recovered from %s",
                    recovered["record"],
                    recovered["shadow"],
                    self.spool_dir,
                )
        self._workers = [
            asyncio.create_task(self._deliver(), name=f"outbox-{i}")
            for i in range(self.policy.senders)
        ]

    def _take_waiting(self, batch: list[Entry], size: int) -> int:
        """Move waiting records into `batch` while it has room; returns its size in bytes."""
        policy = self.policy
        while len(batch) < policy.batch_size and self._queue:
            grown = size + self._queue[0].ByteSize()
            if batch and grown > policy.batch_bytes:
                break  # it leads the next batch
            batch.append(self._queue.popleft())
            size = grown
        return size

    async def _next_batch(self) -> list[Entry]:
        while not self._queue:
            self._arrived.clear()
            await self._arrived.wait()
        batch: list[Entry] = []
        size = self._take_waiting(batch, 0)
        if len(batch) < self.policy.batch_size and self.policy.linger_s > 0 and not self._closing:
            await asyncio.sleep(self.policy.linger_s)
            self._take_waiting(batch, size)
        return batch

    async def _deliver(self) -> None:
        while True:
            batch = await self._next_batch()
            backoff = self.policy.initial_backoff_s
            while batch:
                try:
                    outcomes = await self._send(batch)
                except Exception as exc:
                    outcomes = [exc] * len(batch)
                retry: list[Entry] = []
                error: Exception | None = None
                for entry, outcome in zip(batch, outcomes, strict=True):
                    if outcome is None:
                        OUTBOX_SENT.inc()
                    elif isinstance(outcome, PermanentError):
                        OUTBOX_DROPPED.labels("rejected").inc()
                        logger.error(
                            "outbox: learning rejected the %s of call %s for good: %s",
                            "late shadow vote" if _key(entry) != entry.call_id else "record",
                            entry.call_id,
                            outcome,
                        )
                    else:
                        retry.append(entry)
                        error = error or outcome
                        continue
                    await self._done(entry, delivered=outcome is None)
                if not retry:
                    break
                OUTBOX_RETRIES.inc(len(retry))
                logger.warning(
                    "outbox: delivery of %d record(s) failed (%s, first call %s); retrying in "
                    "%.1f s",
                    len(retry),
                    error,
                    retry[0].call_id,
                    backoff,
                )
                # Full jitter keeps many gateways from retrying in step after an outage.
                await asyncio.sleep(random.uniform(backoff / 2, backoff))
                backoff = min(backoff * 2, self.policy.max_backoff_s)
                batch = retry

    async def _done(self, entry: Entry, delivered: bool) -> None:
        message_id = self._pending.pop(_key(entry), "")
        if message_id:
            self._message_ids[message_id] -= 1
            if self._message_ids[message_id] <= 0:
                del self._message_ids[message_id]
        self._unspool(entry)
        shadow = self._parked.pop(entry.call_id, None) if _key(entry) == entry.call_id else None
        if shadow is not None:
            del self._pending[_key(shadow)]
            if delivered:
                self._enqueue(shadow)  # the call is recorded: its shadow may follow
            else:
                OUTBOX_DROPPED.labels("rejected").inc()
                logger.error(
                    "outbox: the late shadow vote of call %s is dropped with its record",
                    entry.call_id,
                )
                self._unspool(shadow)
        OUTBOX_DEPTH.set(self.depth)
        async with self._delivered:
            self._delivered.notify_all()

    async def close(self, flush_timeout_s: float) -> int:
        """Stop taking records, try to deliver what is waiting, return how many are left."""
        self._closing = True
        started = time.monotonic()
        # Whatever is not delivered in time is reported (and stays spooled) below.
        await self._until(lambda: not self._pending, flush_timeout_s)
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
