"""Batches: run items with bounded concurrency and hand back each result as soon as it is
ready, tagged by its index. An item's exception is that item's outcome, never the batch's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def run_bounded(
    count: int, work: Callable[[int], Awaitable[T]], concurrency: int
) -> AsyncIterator[tuple[int, T | BaseException]]:
    """Yield (index, result or exception) for indices 0..count-1 in finishing order, with at
    most `concurrency` in flight. Closing the iterator cancels the unfinished items."""
    queue: asyncio.Queue[tuple[int, T | BaseException]] = asyncio.Queue()
    indices = iter(range(count))

    async def worker() -> None:
        for index in indices:
            try:
                result: T | BaseException = await work(index)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                result = exc
            await queue.put((index, result))

    workers = [asyncio.create_task(worker()) for _ in range(max(1, min(concurrency, count)))]
    try:
        for _ in range(count):
            yield await queue.get()
    finally:
        for task in workers:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*workers, return_exceptions=True)
