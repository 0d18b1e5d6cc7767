"""Uploaded files: their rows, and the links that decide who may read one (messages, pictures)."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.models import StoredFile
from .rows import Picker
from .tables import channels, files, message_files, messages, organisations, users


_FILE = Picker(
    "id", "owner_id", "name", "content_type", "size", "storage_key", "created_at", "sha256", "width", "height",
    "thumbnail_key", "status", "module", "deleted_at",
)


def _file(row: Any) -> StoredFile:
    (row_id, owner_id, name, content_type, size, storage_key, created_at, sha256, width, height, thumbnail_key,
     status, module, deleted_at) = _FILE(row)
    return StoredFile(
        id=row_id,
        owner_id=owner_id,
        name=name,
        content_type=content_type,
        size=size,
        storage_key=storage_key,
        created_at=created_at,
        sha256=sha256,
        width=width,
        height=height,
        thumbnail_key=thumbnail_key,
        status=status,
        module=module,
        deleted_at=deleted_at,
    )


async def insert_file(conn: AsyncConnection, stored: StoredFile) -> None:
    await conn.execute(
        files.insert().values(
            id=stored.id,
            owner_id=stored.owner_id,
            name=stored.name,
            content_type=stored.content_type,
            size=stored.size,
            storage_key=stored.storage_key,
            sha256=stored.sha256,
            width=stored.width,
            height=stored.height,
            thumbnail_key=stored.thumbnail_key,
            status=stored.status,
            module=stored.module,
            created_at=stored.created_at,
            deleted_at=stored.deleted_at,
        )
    )


async def get_file(conn: AsyncConnection, file_id: int) -> StoredFile | None:
    """The row whatever its status; callers decide what a pending or deleted file means to them."""
    row = (await conn.execute(select(files).where(files.c.id == file_id))).first()
    return None if row is None else _file(row)


async def get_files(conn: AsyncConnection, file_ids: Sequence[int]) -> dict[int, StoredFile]:
    if not file_ids:
        return {}
    rows = await conn.execute(select(files).where(files.c.id.in_(list(file_ids))))
    return {row.id: _file(row) for row in rows}


async def set_status(
    conn: AsyncConnection, file_id: int, from_status: str, to_status: str, values: dict[str, Any] | None = None
) -> bool:
    """Move a live file from one status to the next (with the facts learnt on the way), atomically.

    False if it was not in ``from_status``: another request got there first.
    """
    result = await conn.execute(
        files.update()
        .where(files.c.id == file_id, files.c.status == from_status, files.c.deleted_at.is_(None))
        .values(status=to_status, **(values or {}))
    )
    return result.rowcount == 1


async def mark_deleted(conn: AsyncConnection, file_id: int, now: int) -> None:
    await conn.execute(
        files.update().where(files.c.id == file_id, files.c.deleted_at.is_(None)).values(deleted_at=now)
    )


async def message_channel_ids(conn: AsyncConnection, file_id: int) -> list[int]:
    """Channels holding a live (not deleted) message with this file attached."""
    rows = await conn.execute(
        select(messages.c.channel_id)
        .select_from(message_files.join(messages, messages.c.id == message_files.c.message_id))
        .where(message_files.c.file_id == file_id, messages.c.deleted_at.is_(None))
        .distinct()
    )
    return [row[0] for row in rows]


async def of_removed_messages(conn: AsyncConnection, file_ids: Sequence[int]) -> set[int]:
    """Those of ``file_ids`` attached to messages that were all removed: redacted with them, for everyone."""
    if not file_ids:
        return set()
    linked = (
        select(message_files.c.file_id, messages.c.deleted_at)
        .select_from(message_files.join(messages, messages.c.id == message_files.c.message_id))
        .where(message_files.c.file_id.in_(list(file_ids)))
    )
    live: set[int] = set()
    removed: set[int] = set()
    for file_id, deleted_at in await conn.execute(linked):
        (removed if deleted_at is not None else live).add(file_id)
    return removed - live


async def picture_channel_ids(conn: AsyncConnection, file_id: int) -> list[int]:
    """Live channels showing this file as their picture."""
    rows = await conn.execute(
        select(channels.c.id).where(channels.c.picture_file_id == file_id, channels.c.removed_at.is_(None))
    )
    return [row[0] for row in rows]


async def is_shared(conn: AsyncConnection, file_id: int) -> bool:
    """Whether anyone but its owner may have seen the file: attached to a message (even a removed one), or
    a picture of a user, an organisation or a channel."""
    for query in (
        select(message_files.c.file_id).where(message_files.c.file_id == file_id),
        select(users.c.id).where(users.c.picture_file_id == file_id),
        select(organisations.c.id).where(organisations.c.picture_file_id == file_id),
        select(channels.c.id).where(channels.c.picture_file_id == file_id),
    ):
        if (await conn.execute(query.limit(1))).first() is not None:
            return True
    return False


async def is_user_picture(conn: AsyncConnection, file_id: int) -> bool:
    """A user's picture or an organisation's logo: shown to every signed-in user."""
    row = (await conn.execute(select(users.c.id).where(users.c.picture_file_id == file_id).limit(1))).first()
    if row is None:
        row = (
            await conn.execute(select(organisations.c.id).where(organisations.c.picture_file_id == file_id).limit(1))
        ).first()
    return row is not None


async def due_for_purge(conn: AsyncConnection, removed_before: int, abandoned_before: int, limit: int) -> list[StoredFile]:
    """Files nobody can reach any more: attached only to messages removed before ``removed_before`` (and not
    a picture); uploaded before ``removed_before`` and never attached nor used as a picture; or presigned
    uploads issued before ``abandoned_before`` that never arrived."""
    live_link = (
        select(message_files.c.file_id)
        .select_from(message_files.join(messages, messages.c.id == message_files.c.message_id))
        .where(or_(messages.c.deleted_at.is_(None), messages.c.deleted_at >= removed_before))
    )
    pictures = select(users.c.picture_file_id).where(users.c.picture_file_id.is_not(None)).union(
        select(channels.c.picture_file_id).where(channels.c.picture_file_id.is_not(None)),
        select(organisations.c.picture_file_id).where(organisations.c.picture_file_id.is_not(None)),
    )
    orphaned = and_(
        files.c.status == "ready",
        files.c.id.in_(select(message_files.c.file_id)),
        files.c.id.not_in(live_link),
        files.c.id.not_in(pictures),
    )
    abandoned = and_(files.c.status.in_(("pending", "uploading")), files.c.created_at < abandoned_before)
    never_used = and_(  # uploaded (or left by a failed attach) and never attached nor used as a picture
        files.c.status == "ready",
        files.c.created_at < removed_before,
        files.c.id.not_in(select(message_files.c.file_id)),
        files.c.id.not_in(pictures),
    )
    rows = await conn.execute(
        select(files)
        .where(files.c.deleted_at.is_(None), or_(orphaned, abandoned, never_used))
        .order_by(files.c.id)
        .limit(limit)
    )
    return [_file(row) for row in rows]
