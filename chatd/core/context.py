"""What every core action needs (``Core``) and one unit of work (``Tx``).

``Core.transaction()`` opens a write transaction; actions record their events on the ``Tx`` with
``emit`` (stored in the channel log with the next seq, inside the same transaction) or ``notify``
(private or ephemeral, not stored). Only after the commit succeeds are the events published: an event
never announces a change that was rolled back (Zulip's ``send_event_on_commit``).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection

from ..config import Settings
from ..domain.events import MESSAGE, Event
from ..domain.models import Message
from ..store import events as event_log
from ..store import new_messages
from ..store.channels import Fingerprint, StandingChanged
from ..store.db import Database
from .clock import Clock
from .credential_cache import CredentialCache
from .group_commit import GroupCommit
from .ids import IdGenerator
from .indexing import Indexer
from .passwords import Passwords
from .read_marks import read_through
from .standing_cache import StandingCache
from .ports import FileStorage, Publisher
from ..domain.probes import SILENT, Probe
from .throttle import LoginThrottle
from .write_limit import WriteLimiter


@dataclass
class Tx:
    conn: AsyncConnection
    core: "Core"
    events: list[Event] = field(default_factory=list)
    memo: dict[Any, Any] = field(default_factory=dict)  # lookups that stay true for this transaction
    _messages: list[Message] = field(default_factory=list)
    _channel_events: list[Event] = field(default_factory=list)
    _locked: set[int] = field(default_factory=set)
    _expected: list[tuple[int, int, Fingerprint]] = field(default_factory=list)

    @property
    def now(self) -> int:
        return self.core.clock.now_ms()

    def new_id(self) -> int:
        return self.core.ids.next()

    def holds(self, channel_id: int) -> bool:
        """Whether this transaction holds ``channel_id``'s log lock already (``lock`` would do nothing)."""
        return channel_id in self._locked

    async def lock(self, *channel_ids: int) -> None:
        """Take these channels' log locks (``event_log.lock``, held until commit), in ascending id order and
        each once per transaction: a group commit takes those of its whole batch before its first action, so
        batches (on any node) never wait on one another in a cycle, and a post in the batch takes none."""
        wanted = sorted(set(channel_ids) - self._locked)
        if wanted:
            await event_log.lock_many(self.conn, wanted)
            self._locked.update(wanted)

    async def emit(
        self,
        channel_id: int,
        type: str,
        event: str,
        data: dict[str, Any],
        actor_id: int | None = None,
        audience: list[int] | None = None,
    ) -> Event:
        """Record a channel event: it takes the channel's next seq now, and is published after commit."""
        record = Event(
            type=type,
            event=event,
            data=data,
            channel_id=channel_id,
            id=self.new_id(),
            actor_id=actor_id,
            created_at=self.now,
            audience=audience or [],
        )
        await self.flush()  # deferred events of this transaction take their seqs first, in call order
        await event_log.append(self.conn, record)
        self._locked.add(channel_id)  # allocating the seq locked the channel's row
        self.events.append(record)
        return record

    def defer_post(self, message: Message, event: Event) -> None:
        """Queue a new message and its ``message CREATED`` event; ``flush`` writes all queued ones at once
        (``store/new_messages.py``: one statement per table on SQLite, one statement on PostgreSQL) and makes
        the newest the channel's ``last_message_at``.

        Every new message is written this way (``messages.write_message``): group commit runs many posts in
        one transaction, and written together they cost a handful of statements instead of a handful each.
        Flushed before any other event and before commit."""
        event.id = self.new_id()
        self._messages.append(message)
        self._channel_events.append(event)
        self.events.append(event)

    def expect_standing(self, channel_id: int, user_id: int, fingerprint: Fingerprint) -> None:
        """A queued post was allowed by this standing, read before the transaction (``access.access_to_post``):
        the next ``flush`` writes it only if the standing is unchanged."""
        self._expected.append((channel_id, user_id, fingerprint))

    async def flush(self, *, last: bool = False) -> None:
        """``last``: the transaction ends right after (``Core.transaction``), so the store may commit with it."""
        if not self._messages:
            return
        batch, created, expected = self._messages, self._channel_events, self._expected
        self._messages, self._channel_events, self._expected = [], [], []
        try:
            await new_messages.write(self.conn, batch, created, last=last, expected=expected, read=read_through(batch),
                                     epoch=self.core.db.standings_epoch)
        except StandingChanged as exc:  # nothing committed; the group commit runs the posts again, one by one
            self.core.standings.forget(exc.pairs)
            raise
        self._locked.update(m.channel_id for m in batch)  # allocating their seqs locked the channels' rows

    def notify(self, user_id: int, type: str, event: str, data: dict[str, Any], channel_id: int | None = None) -> None:
        """Record a private event for one user's connections, published after commit, never stored."""
        self.events.append(
            Event(type=type, event=event, data=data, channel_id=channel_id, user_id=user_id, created_at=self.now)
        )


@dataclass
class Core:
    settings: Settings
    db: Database
    clock: Clock
    ids: IdGenerator
    publisher: Publisher
    files: FileStorage
    passwords: Passwords
    throttle: LoginThrottle
    credentials: CredentialCache
    probe: Probe = SILENT  # metrics hooks (chatd/metrics.py); silent outside a server
    secret: str = ""  # the server secret every signature derives its key from, loaded at start (secrets.py)
    write_limit: WriteLimiter | None = None  # build_core sets it; None: writes are not limited
    standings: StandingCache = field(default_factory=StandingCache)  # for group commit's posts
    writes: GroupCommit = field(init=False)
    indexer: Indexer = field(init=False)  # SQLite's word index, from its backlog (core/indexing.py)

    def __post_init__(self) -> None:
        self.writes = GroupCommit(lambda keeps: self.transaction(batch=True, keeps_standings=keeps), enabled=True)
        self.indexer = Indexer(self.db)

    async def close(self) -> None:
        """For a core used outside a server (commands, tests): its group commit's worker would otherwise be
        left waiting on a loop that goes on, and be destroyed pending."""
        await self.writes.stop()
        await self.db.dispose()

    def transaction(self, *, batch: bool = False, keeps_standings: bool = False) -> Transaction:
        """A write transaction (``async with``): ``batch``: a group commit's; ``keeps_standings``: it changes no
        channel standing (``Database.write``)."""
        return Transaction(self, self.db.write(batch=batch, keeps_standings=keeps_standings))

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        async with self.db.read() as conn:
            yield conn


class Transaction:
    """``Core.transaction``: ``Database.write`` with a ``Tx`` for its block; the posts the block queued are
    written as it ends, and its events are published once it committed. A class rather than a generator:
    every write enters one, and an async generator costs a weak reference in the loop's set of generators
    and ``contextlib``'s frames each time (``store/transactions.py``). Its ``__aexit__`` does what the
    generator did: a failure goes to ``Database.write``, which maps it, and on (``Database.write`` never keeps
    one back)."""

    __slots__ = ("_core", "_write", "_tx")

    def __init__(self, core: Core, write: AbstractAsyncContextManager[AsyncConnection]) -> None:
        self._core = core
        self._write = write

    async def __aenter__(self) -> Tx:
        self._tx = Tx(await self._write.__aenter__(), self._core)
        return self._tx

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        write = self._write
        if kind is not None:  # ``Database.write`` maps it (or raises what it maps it to), and it goes on
            await write.__aexit__(kind, exc, tb)
            return
        try:
            await self._tx.flush(last=True)
        except BaseException as failure:
            await write.__aexit__(type(failure), failure, failure.__traceback__)
            raise
        await write.__aexit__(None, None, None)
        events, core = self._tx.events, self._core
        if events:
            if core.indexer.enabled and any(event.type == MESSAGE for event in events):
                core.indexer.poke()  # a new, edited or removed message: its words are in SQLite's backlog
            await core.publisher.publish(events)
