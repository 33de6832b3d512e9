"""Ordered, bounded map over spawned worker processes: one mechanism for the link analysis and the publisher.

Both stages run plain functions over chunks of a night's rows while the main
process keeps DuckDB busy reading the next chunk. Workers are spawned, not
forked: the main process holds DuckDB's threads, and forking a threaded process
copies their locks mid-use. Results come back in the order the chunks went out,
and at most `in_flight` chunks per worker are queued, so memory stays flat
however many chunks a night has and the output does not depend on the worker
count. With one worker everything runs in this process (no start-up cost).
"""
from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Self, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Two processes where there are two cores or more (the deployment machine has two), else one."""
    return max(1, min(2, os.cpu_count() or 1))


class Pool:
    """Runs a function over chunks, in `workers` spawned processes or (workers ≤ 1) in this one.

    `initializer(*initargs)` runs once in each worker (and once here when in-process): what every chunk
    shares is sent once, not with each chunk."""

    def __init__(self, workers: int, in_flight: int = 2, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> None:
        self.workers = max(1, workers)
        self.in_flight = max(1, in_flight)
        self._executor: ProcessPoolExecutor | None = None
        if self.workers > 1:
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=initializer, initargs=initargs)
        elif initializer is not None:
            initializer(*initargs)

    def map(self, fn: Callable[[T], R], chunks: Iterable[T]) -> Iterator[R]:
        if self._executor is None:
            yield from map(fn, chunks)
            return
        pending: deque[Future[R]] = deque()
        for chunk in chunks:
            pending.append(self._executor.submit(fn, chunk))
            if len(pending) >= self.in_flight * self.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
