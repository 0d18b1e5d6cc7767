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


async def readable_accesses(conn: AsyncConnection, principal: Principal) -> dict[int, ChannelAccess]:
    """Every channel the caller may read, with their standing in it, in three queries (not one per channel):
    what a search across channels needs. The same rules as ``access_channel``: the readable set is
    ``readable_channels_clause``; administrators stand as organisation owners."""
    found = await channel_store.readable_channels(conn, principal.user_id, principal.user.is_admin)
    roles = await member_store.roles_of(conn, principal.user_id, [channel.id for channel in found])
    org_roles = {} if principal.user.is_admin else await org_store.orgs_of_user(conn, principal.user_id)
    return {
        channel.id: ChannelAccess(
            channel=channel,
            role=roles.get(channel.id),
            org_role="owner" if principal.user.is_admin else org_roles.get(channel.organisation_id),
        )
        for channel in found
    }
