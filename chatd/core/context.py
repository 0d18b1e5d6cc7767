"""What every core action needs (``Core``) and one unit of work (``Tx``).

``Core.transaction()`` opens a write transaction; actions record their events on the ``Tx`` with
``emit`` (stored in the channel log with the next seq, inside the same transaction) or ``notify``
(private or ephemeral, not stored). Only after the commit succeeds are the events published: an event
never announces a change that was rolled back (Zulip's ``send_event_on_commit``).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection

from ..config import Settings
from ..store import events as event_log
from ..store.db import Database
from .clock import Clock
from .events import Event
from .ids import IdGenerator
from .passwords import Passwords
from .ports import FileStorage, Publisher
from .credential_cache import CredentialCache
from .throttle import LoginThrottle


@dataclass
class Tx:
    conn: AsyncConnection
    core: "Core"
    events: list[Event] = field(default_factory=list)

    @property
    def now(self) -> int:
        return self.core.clock.now_ms()

    def new_id(self) -> int:
        return self.core.ids.next()

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
        await event_log.append(self.conn, record)
        self.events.append(record)
        return record

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
    credentials: CredentialCache = field(default_factory=lambda: CredentialCache(0))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self.db.write() as conn:
            tx = Tx(conn, self)
            yield tx
        if tx.events:
            await self.publisher.publish(tx.events)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        async with self.db.read() as conn:
            yield conn
