"""Run many model calls with bounded concurrency while the caller stores the results.

`run_bounded` is the asyncio part: `concurrency` worker tasks take jobs from one
iterator and hand each (job, result) to `emit`. `BackgroundRun` runs it on an event loop
in a worker thread and gives the calling thread the results in batches, as they arrive
(a batch gathers what arrives within a few tens of milliseconds): the caller writes a
batch to the database (one commit) while the next requests are in flight, so storing
every finished call never serializes the calls. Cancelling (or an exception in the
caller) stops the loop; what was already handed over stays handed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Generic, TypeVar

J = TypeVar("J")
R = TypeVar("R")

_DONE = object()


async def run_bounded(
    jobs: Iterable[J],
    work: Callable[[J], Awaitable[R]],
    *,
    concurrency: int,
    emit: Callable[[J, R], None],
) -> None:
    """Await `work(job)` for every job, at most `concurrency` at a time; emit each result.

    Jobs start in order. An exception in `work` cancels the other workers and propagates
    (the first one, unwrapped from the task group's ExceptionGroup).
    """
    iterator = iter(jobs)

    async def worker() -> None:
        for job in iterator:  # one iterator shared by all workers: each job runs once
            emit(job, await work(job))

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, concurrency)):
                group.create_task(worker())
    except BaseExceptionGroup as group_error:
        raise group_error.exceptions[0] from None


class BackgroundRun(Generic[J, R]):
    """`run_bounded` on an event loop in a worker thread; results come out in batches.

    Use it as a context manager and iterate `batches()`; leaving the block early (an
    exception, Ctrl-C) cancels the calls still in flight and waits for the thread.
    """

    def __init__(
        self,
        jobs: Sequence[J],
        work: Callable[[J], Awaitable[R]],
        *,
        concurrency: int,
        closers: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self._jobs = jobs
        self._work = work
        self._concurrency = concurrency
        self._closers = closers
        self._results: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._finished = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._thread_main, name="judgeloop-llm", daemon=True)

    def _emit(self, job: J, result: R) -> None:
        self._results.put((job, result))

    async def _main(self) -> None:
        self._task = asyncio.current_task()
        self._ready.set()
        try:
            await run_bounded(
                self._jobs, self._work, concurrency=self._concurrency, emit=self._emit
            )
        finally:
            for close in self._closers:
                with contextlib.suppress(Exception):  # closing is best effort
                    await close()

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()
            loop.close()
            self._finished.set()
            self._results.put(_DONE)

    def __enter__(self) -> BackgroundRun[J, R]:
        self._thread.start()
        self._ready.wait()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()

    def cancel(self) -> None:
        """Stop starting calls, cancel those in flight, and wait for the thread to end."""
        loop, task = self._loop, self._task
        if self._thread.is_alive() and loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop may have closed meanwhile
                loop.call_soon_threadsafe(task.cancel)
        self._thread.join()

    def batches(
        self, max_batch: int = 1000, linger_s: float = 0.05, poll_s: float = 0.5
    ) -> Iterator[list[tuple[J, R]]]:
        """Yield the results as they arrive, in batches.

        A batch starts with the first result to arrive and takes whatever else has
        arrived `linger_s` later (up to `max_batch`): slow calls are stored one by one,
        fast ones a few dozen at a time, so storing needs at most ~1/linger_s commits a
        second, and this thread wakes once per batch, not once per result. The wait ends
        early when the last call is done, so the run's end is not held up by it. Ends
        when every job is done; then raises the exception a job's work raised, if any.
        """
        finished = False
        while not finished:
            try:
                item = self._results.get(timeout=poll_s)
            except queue.Empty:
                continue
            if item is not _DONE and linger_s > 0:
                self._finished.wait(linger_s)  # a sleep that ends with the last call
            batch: list[tuple[J, R]] = []
            while True:
                if item is _DONE:
                    finished = True
                    break
                batch.append(item)  # type: ignore[arg-type]
                if len(batch) >= max_batch:
                    break
                try:
                    item = self._results.get_nowait()
                except queue.Empty:
                    break
            if batch:
                yield batch
        if self._error is not None:
            raise self._error
