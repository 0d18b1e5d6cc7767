"""Messages as one viewer sees them: pins, their own flags, reactions with ``me``, what they may do.

Per-viewer fields never ride on shared events (docs/design.md §4.6): they are read here, in batches, for the
messages a response shows.
"""

from __future__ import annotations

from typing import Any, Mapping

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
    conn: AsyncConnection,
    principal: Principal,
    found: ChannelAccess | Mapping[int, ChannelAccess],
    found_messages: list[Message],
) -> list[MessageView]:
    """Per-viewer fields for messages of one channel (``found``), or of several (``found`` by channel id): pins,
    my flags, reactions with ``me``, what I may do. Two queries (one without files) however many channels."""
    ids = [m.id for m in found_messages]
    pinned, flagged, reactions = await marks.marks(conn, ids, principal.user_id)
    files = await file_payloads(conn, [fid for m in found_messages for fid in m.file_ids])
    views = []
    for m in found_messages:
        mine = m.user_id == principal.user_id
        access = found if isinstance(found, ChannelAccess) else found[m.channel_id]
        views.append(
            MessageView(
                message=m,
                files=[files[fid] for fid in m.file_ids if fid in files],
                pinned=m.id in pinned,
                flagged=m.id in flagged,
                reactions=reactions.get(m.id, []),
                can_edit=mine and m.type in USER_TYPES,
                can_remove=mine or access.is_owner,
            )
        )
    return views


async def views_across(
    conn: AsyncConnection,
    principal: Principal,
    found: list[Message],
    accesses: Mapping[int, ChannelAccess] | None = None,
) -> dict[int, MessageView]:
    """Per-viewer views of messages from several channels; messages of channels the caller may no longer read
    are left out (never leaked). ``accesses``: the caller's standing in the channels they may read, when the
    caller already has it (``access.readable_accesses``); otherwise each channel is checked on its own. The
    views themselves are read once for all channels (``views_of``)."""
    if accesses is None:
        checked: dict[int, ChannelAccess] = {}
        for channel_id in dict.fromkeys(m.channel_id for m in found):
            try:
                checked[channel_id] = await access_channel(conn, principal, channel_id)
            except NotFound:
                continue
        accesses = checked
    visible = [m for m in found if m.channel_id in accesses]
    return {view.message.id: view for view in await views_of(conn, principal, accesses, visible)}
