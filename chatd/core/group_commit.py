"""Group commit: concurrent write actions share one transaction, so they share one commit (one fsync).

SQLite has a single writer, so writes queue anyway; rather than paying a BEGIN, a COMMIT and an fsync each,
the actions waiting for the writer run one after another inside one transaction and are acknowledged
together after it commits: "acknowledged means durable" holds, and under load the commit cost is spread
over the batch (docs/design.md §7). An action that fails with a ``ChatdError`` has written nothing (actions
check before they write), so it fails alone; any other failure rolls the batch back and each action is
retried in a transaction of its own, so one bad action never takes others down.

PostgreSQL runs writers concurrently, and each action gets its own transaction there (``enabled=False``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, TypeVar

from ..domain.errors import ChatdError, Unavailable
from ..domain.probes import SILENT, Probe
from ..domain.codes import Code

T = TypeVar("T")
Action = Callable[[Any], Awaitable[Any]]
BATCH_MAX = 256

log = logging.getLogger("chatd.writes")


class GroupCommit:
    def __init__(self, transaction: Callable[[], Any], *, enabled: bool) -> None:
        self._transaction = transaction
        self.enabled = enabled
        self._pending: list[tuple[Action, asyncio.Future[Any]]] = []
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self.probe: Probe = SILENT

    async def run(self, action: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``action(tx)`` in a (possibly shared) transaction; returns once that transaction committed."""
        if not self.enabled:
            async with self._transaction() as tx:
                return await action(tx)
        if self._worker is None or self._worker.done():
            self._wake = asyncio.Event()
            self._worker = asyncio.get_running_loop().create_task(self._work())
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((action, future))
        self._wake.set()
        return await future

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        for _, future in self._pending:
            if not future.done():
                future.set_exception(Unavailable("the server is shutting down; try again shortly"))
        self._pending.clear()

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
                self.probe.batch_committed(len(batch))
                try:
                    await self._commit(batch)
                except BaseException as exc:  # never leave a caller waiting on a worker that is gone
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc if isinstance(exc, Exception) else Unavailable(
                                "the server is shutting down; try again shortly"))
                    raise

    async def _commit(self, batch: list[tuple[Action, asyncio.Future[Any]]]) -> None:
        outcomes: list[tuple[asyncio.Future[Any], bool, Any]] = []
        try:
            async with self._transaction() as tx:
                for action, future in batch:
                    try:
                        outcomes.append((future, True, await action(tx)))
                    except ChatdError as exc:
                        outcomes.append((future, False, exc))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.info("a shared write transaction failed; running its %d actions one by one", len(batch))
            for action, future in batch:
                await self._alone(action, future)
            return
        for future, ok, value in outcomes:
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def _alone(self, action: Action, future: asyncio.Future[Any]) -> None:
        try:
            async with self._transaction() as tx:
                result = await action(tx)
        except BaseException as exc:  # handed to the caller, who sees exactly what a lone write would raise
            if not future.done():
                future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        if not future.done():
            future.set_result(result)
