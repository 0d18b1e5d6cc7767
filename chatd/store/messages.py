"""Messages: rows, history pages, and their search index entries."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..core.models import Message
from .tables import messages


def message_of(row: Any) -> Message:
    return Message(
        id=row.id,
        channel_id=row.channel_id,
        user_id=row.user_id,
        type=row.type,
        contents=row.contents,
        created_at=row.created_at,
        updated_at=row.updated_at,
        meta=orjson.loads(row.meta or "{}"),
        reply_to=row.reply_to,
        reply_count=row.reply_count,
        last_reply_at=row.last_reply_at,
        client_msg_id=row.client_msg_id,
        edited_at=row.edited_at,
        deleted_at=row.deleted_at,
    )


async def insert_message(conn: AsyncConnection, message: Message) -> None:
    await conn.execute(
        messages.insert().values(
            id=message.id,
            channel_id=message.channel_id,
            user_id=message.user_id,
            type=message.type,
            contents=message.contents,
            meta=orjson.dumps(message.meta).decode(),
            reply_to=message.reply_to,
            client_msg_id=message.client_msg_id,
            created_at=message.created_at,
            updated_at=message.updated_at,
        )
    )


async def get_message(conn: AsyncConnection, message_id: int) -> Message | None:
    row = (await conn.execute(select(messages).where(messages.c.id == message_id))).first()
    return None if row is None else message_of(row)
