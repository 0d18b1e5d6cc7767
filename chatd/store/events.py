"""The per-channel event log: seq allocation, append, replay, and redaction.

``UPDATE channels SET last_seq = last_seq + 1 … RETURNING`` both allocates the next seq and, on
PostgreSQL, locks the channel row until commit, so concurrent writers to one channel are serialised and
seqs are gap-free and strictly increasing; on SQLite the single writer gives the same.

A writer whose ids must sort like the seqs (a new message: history is listed by id, the log replayed by
seq) takes that lock first, with ``lock``, before it allocates the id.

A removed message is redacted from the log (``redact``): its events keep their seq, so a replay stays
gap-free, but their payload becomes a tombstone (``tombstone``) that holds none of its text, files or
mentions. Each message event records the message it is about (``message_id``) so they are found at once.
"""

from __future__ import annotations

from typing import Any, Sequence

import orjson
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.events import MESSAGE, Event
from .direct import NotInTransaction, script_on_asyncpg
from .id_lists import id_in
from .rows import Picker
from .tables import channel_events, channels

#: What a removed message's events keep: who posted what kind of message where and when, never its text,
#: files, mentions, meta or the client's key. Clients see a message marked ``deleted`` (its REMOVED event
#: follows in the log).
_KEPT = ("id", "channel_id", "user_id", "type", "reply_to", "created_at")
_BLANK: dict[str, Any] = {
    "contents": "", "meta": {}, "files": [], "mentions": [], "client_msg_id": None, "deleted": True,
    "redacted": True,
}


def tombstone(payload: dict[str, Any]) -> dict[str, Any]:
    """A removed message's event payload, redacted (see the module docstring)."""
    return {key: payload[key] for key in _KEPT if key in payload} | _BLANK


def message_id_of(event: Event) -> int | None:
    """The message a message event is about (every message event's payload names it as ``id``)."""
    if event.type != MESSAGE:
        return None
    found = event.data.get("id")
    return int(found) if found is not None else None


async def lock(conn: AsyncConnection, channel_id: int) -> None:
    """Take the channel's log lock now rather than at the first ``append``; held until commit.

    PostgreSQL: ``SELECT … FOR UPDATE`` on the channel row (the lock ``next_seq`` takes anyway). SQLite: a
    write transaction already holds the database's single writer lock, so there is nothing to take."""
    await lock_many(conn, [channel_id])


_LOCK_ONE = select(channels.c.id).where(channels.c.id == bindparam("channel_id")).with_for_update()
_LOCK_MANY = (
    select(channels.c.id)
    .where(id_in(channels.c.id, "channel_ids"))
    .order_by(channels.c.id)
    .with_for_update()
)


# ``lock_many``'s statement as a group commit's batch runs it on PostgreSQL: prepared once per connection, so
# its plan is kept (planning it cost more than running it).
_LOCK_NAME = "chatd_lock_channels"
_LOCK_PREPARE = (
    f"PREPARE {_LOCK_NAME} (BIGINT[]) AS SELECT id FROM channels WHERE id = ANY($1) ORDER BY id FOR UPDATE"
)


async def lock_many(conn: AsyncConnection, channel_ids: Sequence[int]) -> None:
    """``lock`` for several channels with one statement, in ascending id order (PostgreSQL locks the rows
    in the order the ``ORDER BY`` returns them): the order every writer of several channels keeps.

    On PostgreSQL straight on asyncpg with the ids written into the statement (integers only), so the simple
    protocol carries it: a group commit's batch sends its ``BEGIN`` in the same round trip
    (``direct.script_on_asyncpg``). Through SQLAlchemy while it has not opened its transaction yet."""
    if conn.dialect.name == "sqlite" or not channel_ids:
        return
    ordered = sorted({int(channel_id) for channel_id in channel_ids})
    listed = ", ".join(map(str, ordered))
    script = f"SELECT id FROM channels WHERE id IN ({listed}) ORDER BY id FOR UPDATE"
    prepared = (_LOCK_PREPARE, f"EXECUTE {_LOCK_NAME}('{{{listed}}}')")
    if not isinstance(await script_on_asyncpg(conn, script, prepared=prepared), NotInTransaction):
        return
    if len(ordered) == 1:
        await conn.execute(_LOCK_ONE, {"channel_id": ordered[0]})
    else:
        await conn.execute(_LOCK_MANY, {"channel_ids": ordered})


async def next_seq(conn: AsyncConnection, channel_id: int, also: dict[str, Any] | None = None) -> int:
    """Allocate the next seq; ``also`` sets other channel columns in the same statement (one round trip)."""
    result = await conn.execute(
        channels.update()
        .where(channels.c.id == channel_id)
        .values(last_seq=channels.c.last_seq + 1, **(also or {}))
        .returning(channels.c.last_seq)
    )
    return int(result.scalar_one())


async def append(conn: AsyncConnection, event: Event, also: dict[str, Any] | None = None) -> None:
    """Give ``event`` its seq and store it; the caller's transaction commits both with the change."""
    assert event.channel_id is not None and event.id is not None
    event.seq = await next_seq(conn, event.channel_id, also)
    await conn.execute(
        channel_events.insert().values(
            channel_id=event.channel_id,
            seq=event.seq,
            id=event.id,
            type=event.type,
            event=event.event,
            actor_id=event.actor_id,
            payload=orjson.dumps(event.data).decode(),
            created_at=event.created_at,
            message_id=message_id_of(event),
        )
    )


async def redact(conn: AsyncConnection, message_id: int) -> int:
    """Replace the payload of every event of a message that holds its content by its tombstone (in the
    caller's transaction, the removal's); returns how many events were redacted."""
    rows = (
        await conn.execute(
            select(channel_events.c.channel_id, channel_events.c.seq, channel_events.c.payload).where(
                channel_events.c.message_id == message_id, channel_events.c.event.in_(("CREATED", "EDITED"))
            )
        )
    ).all()
    for row in rows:
        await conn.execute(
            channel_events.update()
            .where(channel_events.c.channel_id == row.channel_id, channel_events.c.seq == row.seq)
            .values(payload=orjson.dumps(tombstone(orjson.loads(row.payload))).decode())
        )
    return len(rows)


async def since(conn: AsyncConnection, channel_id: int, after_seq: int, limit: int) -> list[Event]:
    """Events of one channel with seq > ``after_seq``, in order, at most ``limit``."""
    rows = await conn.execute(
        select(channel_events)
        .where(channel_events.c.channel_id == channel_id, channel_events.c.seq > after_seq)
        .order_by(channel_events.c.seq)
        .limit(limit)
    )
    return [_event(row) for row in rows]


async def stored_since(
    conn: AsyncConnection, channel_id: int, after_seq: int, upto: int | None, limit: int
) -> list[tuple[int, str, str, str]]:
    """``since`` as it is stored: (seq, type, event, payload JSON) with ``after_seq`` < seq ≤ ``upto``, in
    order, at most ``limit``. For replays, which send the payload as it is rather than parse it again."""
    query = select(channel_events.c.seq, channel_events.c.type, channel_events.c.event, channel_events.c.payload).where(
        channel_events.c.channel_id == channel_id, channel_events.c.seq > after_seq
    )
    if upto is not None:
        query = query.where(channel_events.c.seq <= upto)
    rows = await conn.execute(query.order_by(channel_events.c.seq).limit(limit))
    return [(row[0], row[1], row[2], row[3]) for row in rows]


_LAST_SEQS = select(channels.c.id, channels.c.last_seq).where(id_in(channels.c.id, "channel_ids"))


async def last_seqs(conn: AsyncConnection, channel_ids: Sequence[int]) -> dict[int, int]:
    if not channel_ids:
        return {}
    rows = await conn.execute(_LAST_SEQS, {"channel_ids": list(channel_ids)})
    return {channel_id: last_seq for channel_id, last_seq in rows}


_FIRST_SEQ = (
    select(channel_events.c.seq).where(channel_events.c.channel_id == channels.c.id).order_by(channel_events.c.seq)
    .limit(1).scalar_subquery()
)
_BOUNDS = select(channels.c.id, _FIRST_SEQ, channels.c.last_seq).where(id_in(channels.c.id, "channel_ids"))


async def bounds(conn: AsyncConnection, channel_ids: Sequence[int]) -> dict[int, tuple[int | None, int]]:
    """Where each channel's log starts (``None``: nothing stored; a purged history starts later than 1) and
    ends, in one statement: a resume asked once per channel for the start (a hundred statements for a member
    of a hundred channels, each a hop to SQLite's thread or a round trip)."""
    if not channel_ids:
        return {}
    rows = await conn.execute(_BOUNDS, {"channel_ids": list(channel_ids)})
    return {channel_id: (first, last) for channel_id, first, last in rows}


_EVENT = Picker("type", "event", "payload", "channel_id", "seq", "id", "actor_id", "created_at")


def _event(row: Any) -> Event:
    kind, event, payload, channel_id, seq, row_id, actor_id, created_at = _EVENT(row)
    return Event(
        type=kind,
        event=event,
        data=orjson.loads(payload),
        channel_id=channel_id,
        seq=seq,
        id=row_id,
        actor_id=actor_id,
        created_at=created_at,
    )
