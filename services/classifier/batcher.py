"""The dynamic batcher: concurrent requests wait a few milliseconds in a bounded queue, are
grouped by length (less padding), and share forward passes that run on one worker thread so
the event loop stays free to take more requests meanwhile."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from prometheus_client import Histogram

logger = logging.getLogger(__name__)

BATCH_SIZE = Histogram(
    "freescaling_classifier_batch_size",
    "Texts per forward pass",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)

Item = TypeVar("Item")
Result = TypeVar("Result")


# How much padding a pass may carry: a text joins the pass before it unless that would pad
# more than `padding_tokens` tokens in all, or (where `padding_ratio` > 1) more than that
# ratio of its real tokens. On a CPU a pass costs a fixed part (streaming the weights, about
# as much as 30 tokens) plus each padded token, so padding beyond that is waste; on a GPU the
# fixed part dominates and a ratio is the better rule.
CPU_PADDING = (32, 1.0)
GPU_PADDING = (32, 1.3)


class QueueFull(RuntimeError):
    """More items waiting than the queue holds; the caller should retry later."""


class BatcherClosed(RuntimeError):
    """The batcher is shutting down."""


class Batcher(Generic[Item, Result]):
    """`await submit(items)` returns `run(batch)`'s results for those items, in order."""

    def __init__(
        self,
        run: Callable[[list[Item]], list[Result]],
        *,
        max_batch: int,
        max_delay_s: float,
        queue_size: int,
        length: Callable[[Item], int] = len,  # type: ignore[assignment]
        padding: tuple[int, float] = CPU_PADDING,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self._run = run
        self.max_batch = max_batch
        self.padding_tokens, self.padding_ratio = padding
        self.max_delay_s = max_delay_s
        self.queue_size = queue_size
        self._length = length
        self._pending: list[tuple[Item, asyncio.Future]] = []
        self._first_arrival = 0.0
        self._wake = asyncio.Event()
        self._closed = False
        # One forward pass at a time: torch already spreads one pass over every core, and
        # two passes at once would only fight over them. Batchers of two models on one
        # device share their owner's single-thread executor for the same reason.
        self._owns_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="forward")
        self._task: asyncio.Task | None = None
        self.batches_run = 0

    @property
    def queued(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="batcher")

    async def submit(self, items: Sequence[Item]) -> list[Result]:
        if self._closed:
            raise BatcherClosed("the classifier is shutting down")
        if len(self._pending) + len(items) > self.queue_size:
            raise QueueFull(
                f"the batching queue is full ({len(self._pending)} of {self.queue_size} texts "
                f"waiting, {len(items)} more asked); retry shortly"
            )
        loop = asyncio.get_running_loop()
        if not self._pending:
            self._first_arrival = loop.time()
        futures = [loop.create_future() for _ in items]
        self._pending.extend(zip(items, futures, strict=True))
        self._wake.set()
        return list(await asyncio.gather(*futures))

    async def _gather_more(self) -> None:
        """Wait up to max_delay after the first arrival for a full batch."""
        loop = asyncio.get_running_loop()
        deadline = self._first_arrival + self.max_delay_s
        while len(self._pending) < self.max_batch and loop.time() < deadline:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), deadline - loop.time())
            except TimeoutError:
                break

    def _groups(self, taken: list[tuple[Item, asyncio.Future]]) -> list[list]:
        """Shortest first, at most max_batch per pass, and a new pass whenever the next text
        would pad the pass beyond its padding allowance (see CPU_PADDING)."""
        taken = sorted(taken, key=lambda pair: self._length(pair[0]))
        groups: list[list] = []
        real = 0
        for pair in taken:
            length = max(self._length(pair[0]), 1)
            group = groups[-1] if groups else None
            if group is not None and len(group) < self.max_batch:
                padding = (len(group) + 1) * length - (real + length)
                allowed = max(self.padding_tokens, (self.padding_ratio - 1) * (real + length))
                if padding <= allowed:
                    group.append(pair)
                    real += length
                    continue
            groups.append([pair])
            real = length
        return groups

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._pending:
                continue
            await self._gather_more()
            taken = [(item, fut) for item, fut in self._pending if not fut.done()]
            self._pending = []
            for group in self._groups(taken):
                group = [(i, f) for i, f in group if not f.done()]
                if not group:
                    continue
                try:
                    results = await loop.run_in_executor(
                        self._executor, self._run, [item for item, _ in group]
                    )
                except Exception as exc:
                    logger.exception("forward pass over %d texts failed", len(group))
                    for _, fut in group:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                self.batches_run += 1
                BATCH_SIZE.observe(len(group))
                for (_, fut), result in zip(group, results, strict=True):
                    if not fut.done():
                        fut.set_result(result)

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for _, fut in self._pending:
            if not fut.done():
                fut.set_exception(BatcherClosed("the classifier is shutting down"))
        self._pending = []
        if self._owns_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)
