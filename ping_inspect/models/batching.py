"""Grouping concurrent generate requests into batches that run in one worker thread.

Inspect calls a provider's ``generate`` once per sample turn, many at a time. A local model
is fastest when it answers those calls together, so ``RequestBatcher`` collects them: a
request that arrives while a batch runs, or within a short window of the first, joins the
next batch of requests with the same generation settings. The model runs in a single
worker thread, so the event loop (browsers, sandboxes, other samples) keeps going.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Waiting(Generic[Item]):
    key: Hashable
    item: Item
    future: asyncio.Future[Any]


class RequestBatcher(Generic[Item, Result]):
    """Run concurrent requests in batches of at most ``max_batch`` with the same key."""

    def __init__(
        self,
        run_batch: Callable[[Hashable, list[Item]], Sequence[Result]],
        max_batch: int,
        window: float = 0.05,
    ) -> None:
        """Create a batcher.

        Args:
            run_batch: Answers one batch, in order: ``(key, items) -> results``. It runs in
                the worker thread and may block.
            max_batch: Most requests in one batch.
            window: Seconds to wait for more requests before running a batch that is not
                full (requests that arrive while a batch runs never wait).
        """
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}.")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.window = window
        self._queue: list[_Waiting[Item]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    async def submit(self, key: Hashable, item: Item) -> Result:
        """Queue ``item`` and return its result once its batch has run.

        Args:
            key: Requests are batched only with requests of an equal key (their
                generation settings).
            item: The request.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another async backend (trio): answer unbatched
            return await anyio.to_thread.run_sync(self._run_one, key, item)
        if loop is not self._loop:
            # A new eval run (a new event loop): what was queued on the old one is gone.
            self._loop, self._queue, self._worker = loop, [], None
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append(_Waiting(key, item, future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._work())
        return await future

    def close(self) -> None:
        """Stop the worker thread (after the batch it is running, if any)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def _run_one(self, key: Hashable, item: Item) -> Result:
        with self._lock:
            return self.run_batch(key, [item])[0]

    def _run_locked(self, key: Hashable, items: list[Item]) -> Sequence[Result]:
        with self._lock:
            return self.run_batch(key, items)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending():
            if not self._head_batch_full():
                await asyncio.sleep(self.window)
            batch = self._take_batch()
            if not batch:
                continue
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="ping-inspect-model")
            try:
                results = await loop.run_in_executor(
                    self._executor, self._run_locked, batch[0].key, [w.item for w in batch]
                )
            except Exception as err:
                for waiting in batch:
                    if not waiting.future.done():
                        waiting.future.set_exception(err)
                continue
            for waiting, result in zip(batch, results, strict=True):
                if not waiting.future.done():
                    waiting.future.set_result(result)

    def _pending(self) -> bool:
        # Requests whose caller gave up (a sample cancelled or timed out) are dropped.
        self._queue = [w for w in self._queue if not w.future.done()]
        return bool(self._queue)

    def _head_batch_full(self) -> bool:
        head = self._queue[0].key
        return sum(1 for w in self._queue if w.key == head) >= self.max_batch

    def _take_batch(self) -> list[_Waiting[Item]]:
        if not self._pending():
            return []
        head = self._queue[0].key
        batch: list[_Waiting[Item]] = []
        rest: list[_Waiting[Item]] = []
        for waiting in self._queue:
            if waiting.key == head and len(batch) < self.max_batch:
                batch.append(waiting)
            else:
                rest.append(waiting)
        self._queue = rest
        return batch
