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

from ..store import channel_members as member_store
from ..store import channels as channel_store
from ..store import orgs as org_store
from .errors import Conflict, Forbidden, NotFound
from .models import ChannelAccess, Principal


async def access_channel(
    conn: AsyncConnection, principal: Principal, channel_id: int, *, writing: bool = False, owner: bool = False
) -> ChannelAccess:
    channel = await channel_store.get_channel(conn, channel_id)
    if channel is None:
        raise NotFound("no such channel")
    org = await org_store.get_org(conn, channel.organisation_id)
    if org is None:
        raise NotFound("no such channel")
    org_role = await org_store.get_role(conn, org.id, principal.user_id)
    if principal.user.is_admin:
        org_role = "owner"
    role = await member_store.get_role(conn, channel_id, principal.user_id)
    readable = role is not None or (channel.is_open and org_role is not None)
    if not readable:
        raise NotFound("no such channel")
    found = ChannelAccess(channel=channel, role=role, org_role=org_role)
    if owner and not found.is_owner:
        raise Forbidden("needs the channel owner role or organisation admin")
    if writing:
        if role is None and not (owner and found.is_owner):
            raise Forbidden("join the channel first")
        if channel.archived_at is not None or org.archived_at is not None:
            raise Conflict("channel is archived (read-only)", code="archived")
    return found
