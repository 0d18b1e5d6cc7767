"""Who may read and write a channel: the one place every face and the websocket ask.

- public channels: readable by every member of the organisation; private, direct and group channels
  only by their members. A channel the caller may not read is reported as absent (404), so ids of
  private channels cannot be probed.
- writing (posting, editing, reacting …) needs channel membership, and an unarchived channel and
  organisation (409 otherwise).
- server administrators read what organisation owners read.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ..store import channels as channel_store
from .errors import Conflict, Forbidden, NotFound
from .models import ChannelAccess, Principal


async def access_channel(
    conn: AsyncConnection, principal: Principal, channel_id: int, *, writing: bool = False, owner: bool = False
) -> ChannelAccess:
    found = await channel_store.standing(conn, channel_id, principal.user_id)
    if found is None:
        raise NotFound("no such channel")
    channel, org_archived_at, org_role, role = found
    if principal.user.is_admin:
        org_role = "owner"
    readable = role is not None or (channel.is_open and org_role is not None)
    if not readable:
        raise NotFound("no such channel")
    access = ChannelAccess(channel=channel, role=role, org_role=org_role)
    if owner and not access.is_owner:
        raise Forbidden("needs the channel owner role or organisation admin")
    if writing:
        if role is None and not (owner and access.is_owner):
            raise Forbidden("join the channel first")
        if channel.archived_at is not None or org_archived_at is not None:
            raise Conflict("channel is archived (read-only)", code="archived")
    return access
