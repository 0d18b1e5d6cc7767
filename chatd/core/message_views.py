"""Messages as one viewer sees them: pins, their own flags, reactions with ``me``, what they may do.

Per-viewer fields never ride on shared events (docs/design.md §4.6): they are read here, in batches, for the
messages a response shows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.errors import NotFound
from ..domain.models import USER_TYPES, ChannelAccess, Message, MessageView, Principal
from ..store import files as file_store
from ..store import reactions as marks
from .access import access_channel
from .files import file_payload


async def file_payloads(conn: AsyncConnection, file_ids: list[int]) -> dict[int, dict[str, Any]]:
    found = await file_store.get_files(conn, file_ids)
    return {fid: file_payload(stored) for fid, stored in found.items()}


async def views_of(
    conn: AsyncConnection, principal: Principal, found: ChannelAccess, found_messages: list[Message]
) -> list[MessageView]:
    """Per-viewer fields for messages of one channel: pins, my flags, reactions with ``me``, what I may do."""
    ids = [m.id for m in found_messages]
    pinned = await marks.pinned_ids(conn, ids)
    flagged = await marks.flagged_ids(conn, principal.user_id, ids)
    reactions = await marks.reaction_summaries(conn, ids, principal.user_id)
    files = await file_payloads(conn, [fid for m in found_messages for fid in m.file_ids])
    views = []
    for m in found_messages:
        mine = m.user_id == principal.user_id
        views.append(
            MessageView(
                message=m,
                files=[files[fid] for fid in m.file_ids if fid in files],
                pinned=m.id in pinned,
                flagged=m.id in flagged,
                reactions=reactions.get(m.id, []),
                can_edit=mine and m.type in USER_TYPES,
                can_remove=mine or found.is_owner,
            )
        )
    return views


async def views_across(conn: AsyncConnection, principal: Principal, found: list[Message]) -> dict[int, MessageView]:
    """Per-viewer views of messages from several channels, one batch per channel; messages of channels the
    caller may no longer read are left out (never leaked)."""
    by_channel: dict[int, list[Message]] = {}
    for message in found:
        by_channel.setdefault(message.channel_id, []).append(message)
    views: dict[int, MessageView] = {}
    for channel_id, in_channel in by_channel.items():
        try:
            access = await access_channel(conn, principal, channel_id)
        except NotFound:
            continue
        for view in await views_of(conn, principal, access, in_channel):
            views[view.message.id] = view
    return views
