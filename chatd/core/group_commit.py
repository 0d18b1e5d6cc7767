"""Group commit: concurrent write actions share one transaction, so they share one commit (one fsync).

SQLite has a single writer, so writes queue anyway; rather than paying a BEGIN, a COMMIT and an fsync each,
the actions waiting for the writer run one after another inside one transaction and are acknowledged
together after it commits: "acknowledged means durable" holds, and under load the commit cost is spread
over the batch (docs/design.md §7). An action that fails with a ``ChatdError`` has written nothing (actions
check before they write), so it fails alone; any other failure rolls the batch back and each action is
retried in a transaction of its own, so one bad action never takes others down.

Both databases group. SQLite has a single writer, so writes queue anyway. On PostgreSQL a post holds its
channel's row lock (gap-free seqs) until its commit's fsync, so one channel's posts would commit one at a
time, each waiting for the last one's fsync; grouped, one commit covers every post that waited. There a
batch takes the log locks of all the channels its actions name (``run(..., channels=...)``) before its first
action, in ascending id order (``Tx.lock``): the order every multi-channel writer keeps, so batches of
several nodes never wait on one another in a cycle.

A batch starts as soon as its first action waits, but after a commit the worker gives those it just
acknowledged a moment to come back (``_gather``): a client that sends its next message on each
acknowledgement would otherwise always miss the batch that starts while its answer is on the way, and the
senders would split into groups taking turns, each waiting for the other's commit (half the posts per
fsync). The wait ends as soon as that many actions wait, and lasts at most ``GATHER_SHARE`` of the last
commit's duration and ``GATHER_MAX`` seconds: a little latency next to the fsync it shares (PostgreSQL's
``commit_delay`` is the same idea).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any, Awaitable, Callable, Iterable, Protocol, TypeVar

from ..domain.errors import ChatdError, Unavailable
from ..domain.probes import SILENT, Probe

T = TypeVar("T")
Action = Callable[[Any], Awaitable[Any]]
Pending = tuple[Action, "asyncio.Future[Any]", tuple[int, ...], bool]  # …, its locks, whether it keeps standings
BATCH_MAX = 256
GATHER_SHARE = 0.2
GATHER_MAX = 0.005
STOP_GRACE = 10.0  # seconds a batch under way at shutdown gets to finish (``stop``)


class Locking(Protocol):
    """What a batch needs of its transaction: the channels' log locks, taken up front."""

    async def lock(self, *channel_ids: int) -> None: ...

log = logging.getLogger("chatd.writes")


class GroupCommit:
    def __init__(self, transaction: Callable[[bool], AbstractAsyncContextManager[Any]], *, enabled: bool) -> None:
        """``transaction(keeps_standings)``: a write transaction for a batch, or for one action of it."""
        self._transaction = transaction
        self.enabled = enabled
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._expected = 0  # actions the last commit acknowledged, plus those that waited meanwhile
        self._last_seconds = 0.0  # how long the last batch took, commit included
        self._closing = False
        self.probe: Probe = SILENT

    def run(
        self, action: Callable[[Any], Awaitable[T]], *, channels: Iterable[int] = (), keeps_standings: bool = False
    ) -> Awaitable[T]:
        """Run ``action(tx)`` in a (possibly shared) transaction; what it returns is awaited, and answers once
        that transaction committed. Not a coroutine itself: the caller waits on the batch's future directly,
        one frame fewer to suspend and resume on every write.

        ``channels``: those whose logs the action writes; their locks are taken before any action runs.
        ``keeps_standings``: the action changes no channel standing (a post): a batch of only such actions
        leaves the standings kept for posts as they were (``Database.write``)."""
        locks = tuple(channels)
        if self._closing:
            raise Unavailable("the server is shutting down; try again shortly")
        if not self.enabled:
            return self._unbatched(action, locks, keeps_standings)
        worker = self._worker
        if worker is None or worker.done():
            loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._worker = loop.create_task(self._work())
        else:  # its loop: ``get_running_loop`` makes a system call (getpid) on every send
            loop = worker.get_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((action, future, locks, keeps_standings))
        self._wake.set()
        return future

    async def _unbatched(self, action: Callable[[Any], Awaitable[T]], locks: tuple[int, ...], keeps: bool) -> T:
        async with self._transaction(keeps) as tx:
            await _lock(tx, locks)
            return await action(tx)

    async def stop(self) -> None:
        """Let a batch under way finish (up to ``STOP_GRACE``), then refuse the rest with 503. A batch
        cancelled half-way could still commit (the store's last call for it may already be with the driver)
        while its senders were told it failed."""
        self._closing = True
        if self._worker is not None:
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._worker), STOP_GRACE)
            except BaseException:
                self._worker.cancel()
                await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        for _, future, _, _ in self._pending:
            if not future.done():
                future.set_exception(Unavailable("the server is shutting down; try again shortly"))
        self._pending.clear()

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            while self._pending and not self._closing:
                await self._gather()
                batch, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
                self.probe.batch_committed(len(batch))
                started = loop.time()
                try:
                    await self._commit(batch)
                    self._last_seconds = loop.time() - started
                    self._expected = min(BATCH_MAX, len(batch) + len(self._pending))
                except BaseException as exc:  # never leave a caller waiting on a worker that is gone
                    for _, future, _, _ in batch:
                        if not future.done():
                            future.set_exception(exc if isinstance(exc, Exception) else Unavailable(
                                "the server is shutting down; try again shortly"))
                    raise

    async def _gather(self) -> None:
        """Wait (briefly, see the module docstring) until as many actions wait as took part in the last
        round: those just acknowledged and those that waited for that commit."""
        if len(self._pending) >= self._expected:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(GATHER_MAX, GATHER_SHARE * self._last_seconds)
        while len(self._pending) < self._expected:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                return

    async def _commit(self, batch: list[Pending]) -> None:
        outcomes: list[tuple[asyncio.Future[Any], bool, Any]] = []
        try:
            async with self._transaction(all(keeps for _, _, _, keeps in batch)) as tx:
                await _lock(tx, tuple(channel for _, _, locks, _ in batch for channel in locks))
                for action, future, _, _ in batch:
                    try:
                        outcomes.append((future, True, await action(tx)))
                    except ChatdError as exc:
                        outcomes.append((future, False, exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not isinstance(exc, Unavailable):  # an outage is logged once, by the database
                log.info("a shared write transaction failed; running its %d actions one by one", len(batch))
            for action, future, locks, keeps in batch:
                await self._alone(action, future, locks, keeps)
            return
        for future, ok, value in outcomes:
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def _alone(self, action: Action, future: asyncio.Future[Any], locks: tuple[int, ...], keeps: bool) -> None:
        try:
            async with self._transaction(keeps) as tx:
                await _lock(tx, locks)
                result = await action(tx)
        except BaseException as exc:  # handed to the caller, who sees exactly what a lone write would raise
            if not future.done():
                future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        if not future.done():
            future.set_result(result)


async def _lock(tx: Locking, channel_ids: tuple[int, ...]) -> None:
    if channel_ids:
        await tx.lock(*channel_ids)
