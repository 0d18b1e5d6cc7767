"""Reactions, pins and flags: the marks people put on messages, and the per-viewer summary of them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import BigInteger, String, Table, bindparam, func, literal, literal_column, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .channels import readable_channels_clause
from .id_lists import id_in
from .tables import channels, flags, messages, pins, reactions


async def _insert_new(conn: AsyncConnection, table: Table, **values: Any) -> bool:
    """Insert unless the primary key exists; True if inserted. ``ON CONFLICT DO NOTHING`` rather than look
    then insert: two concurrent identical marks must give one row and one "already", never a 500."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    result = await conn.execute(insert(table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)


async def add_reaction(conn: AsyncConnection, message_id: int, user_id: int, emoji: str, now: int) -> bool:
    return await _insert_new(conn, reactions, message_id=message_id, user_id=user_id, emoji=emoji, created_at=now)


async def remove_reaction(conn: AsyncConnection, message_id: int, user_id: int, emoji: str) -> bool:
    result = await conn.execute(
        reactions.delete().where(
            reactions.c.message_id == message_id, reactions.c.user_id == user_id, reactions.c.emoji == emoji
        )
    )
    return bool(result.rowcount)


async def reaction_users(conn: AsyncConnection, message_id: int) -> list[tuple[str, int]]:
    rows = await conn.execute(
        select(reactions.c.emoji, reactions.c.user_id)
        .where(reactions.c.message_id == message_id)
        .order_by(reactions.c.created_at, reactions.c.user_id)
    )
    return [(str(r[0]), int(r[1])) for r in rows]


async def reaction_summaries(
    conn: AsyncConnection, message_ids: list[int], viewer_id: int
) -> dict[int, list[dict[str, Any]]]:
    """Per message: ``[{emoji, count, me}]`` in order of first use."""
    if not message_ids:
        return {}
    rows = await conn.execute(
        select(reactions.c.message_id, reactions.c.emoji, reactions.c.user_id)
        .where(reactions.c.message_id.in_(message_ids))
        .order_by(reactions.c.message_id, reactions.c.created_at, reactions.c.user_id)
    )
    grouped: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for message_id, emoji, user_id in rows:
        entry = grouped[message_id].setdefault(emoji, {"emoji": emoji, "count": 0, "me": False})
        entry["count"] += 1
        entry["me"] = entry["me"] or user_id == viewer_id
    return {mid: list(by_emoji.values()) for mid, by_emoji in grouped.items()}


async def pin(conn: AsyncConnection, message_id: int, channel_id: int, user_id: int, now: int) -> bool:
    return await _insert_new(conn, pins, message_id=message_id, channel_id=channel_id, pinned_by=user_id, pinned_at=now)


async def unpin(conn: AsyncConnection, message_id: int) -> bool:
    return bool((await conn.execute(pins.delete().where(pins.c.message_id == message_id))).rowcount)


async def channel_pins(conn: AsyncConnection, channel_id: int) -> list[tuple[int, int | None, int]]:
    """(message_id, pinned_by, pinned_at) of live messages, most recently pinned first."""
    rows = await conn.execute(
        select(pins.c.message_id, pins.c.pinned_by, pins.c.pinned_at)
        .select_from(pins.join(messages, messages.c.id == pins.c.message_id))
        .where(pins.c.channel_id == channel_id, messages.c.deleted_at.is_(None))
        .order_by(pins.c.pinned_at.desc(), pins.c.message_id.desc())
    )
    return [(int(r[0]), r[1], int(r[2])) for r in rows]


async def flag(conn: AsyncConnection, user_id: int, message_id: int, now: int) -> bool:
    return await _insert_new(conn, flags, user_id=user_id, message_id=message_id, created_at=now)


async def unflag(conn: AsyncConnection, user_id: int, message_id: int) -> bool:
    result = await conn.execute(flags.delete().where(flags.c.user_id == user_id, flags.c.message_id == message_id))
    return bool(result.rowcount)


async def my_flags(
    conn: AsyncConnection, user_id: int, is_admin: bool, offset: int, limit: int
) -> tuple[list[int], int]:
    """Message ids the user flagged, among live messages of channels they may read now
    (``channels.readable_channels_clause``), newest flag first, with a total."""
    joined = flags.join(messages, messages.c.id == flags.c.message_id)
    readable = select(channels.c.id).where(readable_channels_clause(user_id, is_admin))
    where = [flags.c.user_id == user_id, messages.c.deleted_at.is_(None), messages.c.channel_id.in_(readable)]
    total = int((await conn.execute(select(func.count()).select_from(joined).where(*where))).scalar_one())
    rows = await conn.execute(
        select(flags.c.message_id)
        .select_from(joined)
        .where(*where)
        .order_by(flags.c.created_at.desc(), flags.c.message_id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [row[0] for row in rows], total


_NONE, _ZERO = literal("", String), literal(0, BigInteger)
_MARKS = union_all(
    select(literal(0).label("kind"), pins.c.message_id, _NONE.label("emoji"), _ZERO.label("user_id"),
           _ZERO.label("created_at")).where(id_in(pins.c.message_id, "message_ids")),
    select(literal(1), flags.c.message_id, _NONE, _ZERO, _ZERO).where(
        flags.c.user_id == bindparam("viewer_id"), id_in(flags.c.message_id, "message_ids")),
    select(literal(2), reactions.c.message_id, reactions.c.emoji, reactions.c.user_id,
           reactions.c.created_at).where(id_in(reactions.c.message_id, "message_ids")),
).order_by(literal_column("kind"), literal_column("message_id"), literal_column("created_at"), literal_column("user_id"))


async def marks(
    conn: AsyncConnection, message_ids: list[int], viewer_id: int
) -> tuple[set[int], set[int], dict[int, list[dict[str, Any]]]]:
    """What a viewer sees marked on these messages, in one statement rather than three (a history page or a
    search pays each round trip): the pinned ones, the ones the viewer flagged, and the reaction summaries
    (``[{emoji, count, me}]`` per message, in order of first use)."""
    if not message_ids:
        return set(), set(), {}
    rows = await conn.execute(_MARKS, {"message_ids": message_ids, "viewer_id": viewer_id})
    pinned: set[int] = set()
    flagged: set[int] = set()
    grouped: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row_kind, message_id, emoji, user_id, _ in rows:
        if row_kind == 0:
            pinned.add(message_id)
        elif row_kind == 1:
            flagged.add(message_id)
        else:
            entry = grouped[message_id].setdefault(emoji, {"emoji": emoji, "count": 0, "me": False})
            entry["count"] += 1
            entry["me"] = entry["me"] or user_id == viewer_id
    return pinned, flagged, {mid: list(by_emoji.values()) for mid, by_emoji in grouped.items()}
