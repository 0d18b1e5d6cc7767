"""SQLite's word index, brought up to date from its backlog (``store/search_backlog.py`` says why).

A write that stores message events wakes the indexer (``poke``); ``DELAY`` later it indexes everything
noted meanwhile, in write transactions of their own of about ``MESSAGES`` messages each: under load a few
hundred at a time, where a group-commit batch holds sixteen. Every search first indexes what is left
(``settle``), so a search finds every message acknowledged before it started, as when the index was written
with the message. What a stop or a crash left is indexed when the server starts again; the workers of one
server index what any of them noted.

On PostgreSQL the index is written with the message, and all of this does nothing.
"""

from __future__ import annotations

import asyncio
import logging

from ..domain.probes import SILENT, Probe
from ..store import search_backlog
from ..store.db import Database
from . import background

DELAY = 0.05  # seconds from a write to the indexing of its words: hundreds at a time under load
MESSAGES = 500  # per transaction: the writer held for a few milliseconds
SETTLE_MESSAGES = 8 * MESSAGES  # what a search waits for at most; a larger backlog (a bulk load) it leaves
RETRY = 1.0  # seconds before trying again after a failure (an outage: the database logs it)…
RETRY_MAX = 60.0  # …doubled after each failure in a row, up to this: a lasting one is logged once a minute

log = logging.getLogger("chatd.search")


class Indexer:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.enabled = db.is_sqlite
        self._due = asyncio.Event()
        self.probe: Probe = SILENT

    def poke(self) -> None:
        """A write stored message events, and noted their words: index them soon."""
        if self.enabled:
            self._due.set()

    async def run(self) -> None:
        """Index ``DELAY`` after each ``poke``, until cancelled (the app's lifespan)."""
        if not self.enabled:
            return
        self._due.set()  # whatever the last run of the server left
        retry = RETRY
        while True:
            await self._due.wait()
            await asyncio.sleep(DELAY)
            self._due.clear()
            try:
                await self.catch_up()
                retry = RETRY
            except Exception as exc:
                self.probe.search_index_failed()
                background.failed(log, "indexing messages for search failed", exc)
                await asyncio.sleep(retry)
                retry = min(RETRY_MAX, 2 * retry)
                self._due.set()

    async def catch_up(self, most: int | None = None) -> None:
        """Index the backlog (``most``: stop after about that many messages), ``MESSAGES`` per transaction."""
        done = 0
        more = self.enabled
        while more and (most is None or done < most):
            async with self.db.write(keeps_standings=True) as conn:  # the word index and its backlog only
                taken, more = await search_backlog.index_some(conn, MESSAGES)
            self.probe.search_indexed(taken)
            done += MESSAGES

    async def settle(self) -> None:
        """Before a search: index what the backlog holds, up to ``SETTLE_MESSAGES``. A failure to index is
        logged and the search runs on the index as it is: an answer that may miss the newest messages, rather
        than none (a database outage fails the search itself, with its own 503)."""
        if not self.enabled:
            return
        async with self.db.read() as conn:
            waiting = await search_backlog.pending(conn)
        if waiting:
            try:
                await self.catch_up(SETTLE_MESSAGES)
            except Exception as exc:
                self.probe.search_index_failed()
                background.failed(log, "indexing messages before a search failed", exc)
