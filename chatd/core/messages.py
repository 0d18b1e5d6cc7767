"""Messages: posting, system messages, and the event payload every face and the websocket share."""

from __future__ import annotations

from typing import Any

from ..store import channels as channel_store
from ..store import messages as message_store
from . import events
from .clock import iso
from .context import Tx
from .models import Channel, Message


def message_payload(message: Message) -> dict[str, Any]:
    """The viewer-independent shape of a message, as stored in events and sent on the websocket."""
    return {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "user_id": None if message.user_id is None else str(message.user_id),
        "type": message.type,
        "contents": "" if message.deleted_at else message.contents,
        "meta": message.meta,
        "reply_to": None if message.reply_to is None else str(message.reply_to),
        "reply_count": message.reply_count,
        "last_reply_at": iso(message.last_reply_at),
        "client_msg_id": message.client_msg_id,
        "created_at": iso(message.created_at),
        "updated_at": iso(message.updated_at),
        "edited_at": iso(message.edited_at),
        "deleted": message.deleted_at is not None,
        "file_ids": [str(fid) for fid in message.file_ids],
        "mentions": [str(uid) for uid in message.mentions],
    }


async def post_system_message(
    tx: Tx, channel: Channel, actor_id: int | None, type: str, contents: str, meta: dict[str, Any]
) -> Message:
    """A CREATE, TOPIC or RENAME message (or any other system notice) in ``channel``, with its event."""
    now = tx.now
    message = Message(
        id=tx.new_id(),
        channel_id=channel.id,
        user_id=actor_id,
        type=type,
        contents=contents,
        created_at=now,
        updated_at=now,
        meta=meta,
    )
    await message_store.insert_message(tx.conn, message)
    await channel_store.update_channel(tx.conn, channel.id, {"last_message_at": now})
    await tx.emit(channel.id, events.MESSAGE, "CREATED", message_payload(message), actor_id=actor_id)
    return message
