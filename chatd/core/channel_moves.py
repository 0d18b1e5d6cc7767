"""Moving a channel to another team or organisation, and merging one channel into another.

Move: members who are not in the target organisation leave the channel (``member LEFT``, reason
``moved``): nobody keeps reading a channel of an organisation they do not belong to.
Merge: every message of the source moves to the destination with its id, author, thread, pins, flags,
reactions and files (ids are time-ordered, so history interleaves in time order by itself); the source's
members join the destination; the source is archived, pointing at the destination, with a ``MERGE`` system
message by whoever merged in both. Clients learn of it by a ``channel MERGED`` event in each and re-read the destination.
"""

from __future__ import annotations

from ..domain import events
from ..domain.errors import BadRequest
from ..domain.models import ChannelView, Principal
from ..store import channel_members as member_store
from ..store import channels as channel_store
from ..store import events as event_log
from ..store import messages as message_store
from ..store import orgs as org_store
from .access import access_channel, access_org, access_team
from .channel_members import record_joined, record_left
from .channels import channel_payload, view_of
from .context import Core
from .messages import post_system_message


async def do_move_channel(
    core: Core, principal: Principal, channel_id: int, *, team_id: int | None = None, organisation_id: int | None = None
) -> ChannelView:
    async with core.transaction() as tx:
        found = await access_channel(tx.conn, principal, channel_id, writing=True, owner=True)
        channel = found.channel
        if channel.type == "direct":
            raise BadRequest.field("id", "direct channels cannot be moved")
        if team_id is not None:
            team, _, _ = await access_team(tx.conn, principal, team_id, writing=True)
            if organisation_id is not None and organisation_id != team.organisation_id:
                raise BadRequest.field("team_id", "the team belongs to another organisation")
            target_org = team.organisation_id
        elif organisation_id is not None:
            await access_org(tx.conn, principal, organisation_id, writing=True)
            target_org = organisation_id
        else:
            raise BadRequest.field("team_id", "give team_id or organisation_id")
        if (target_org, team_id) == (channel.organisation_id, channel.team_id):
            raise BadRequest.field("team_id" if team_id is not None else "organisation_id", "the channel is already there")
        source_org = channel.organisation_id
        if target_org != source_org:
            outsiders = await channel_store.member_ids_outside_org(tx.conn, channel_id, target_org)
            await record_left(tx, channel_id, outsiders, principal.user_id, "moved")
        channel.organisation_id, channel.team_id, channel.updated_at = target_org, team_id, tx.now
        await channel_store.update_channel(
            tx.conn, channel_id, {"organisation_id": target_org, "team_id": team_id, "updated_at": tx.now}
        )
        payload = channel_payload(channel) | {"from_organisation_id": str(source_org)}
        await tx.emit(channel_id, events.CHANNEL, "MOVED", payload, principal.user_id)
        channel.last_seq = await channel_store.last_seq(tx.conn, channel_id)
        return await view_of(tx.conn, principal, channel, await member_store.get_role(tx.conn, channel_id, principal.user_id))


async def do_merge_channels(core: Core, principal: Principal, source_id: int, destination_id: int) -> ChannelView:
    if source_id == destination_id:
        raise BadRequest.field("destination", "must differ from source")
    async with core.transaction() as tx:
        source = (await access_channel(tx.conn, principal, source_id, writing=True, owner=True)).channel
        found = await access_channel(tx.conn, principal, destination_id, writing=True, owner=True)
        destination = found.channel
        if source.organisation_id != destination.organisation_id:
            raise BadRequest.field("destination", "channels of different organisations cannot be merged")
        if "direct" in (source.type, destination.type):
            raise BadRequest.field("source", "direct channels cannot be merged")
        for channel_id in sorted((source_id, destination_id)):  # both logs, in id order, before any row
            await event_log.lock(tx.conn, channel_id)
        moved = await message_store.move_all(tx.conn, source_id, destination_id)
        newcomers = sorted(
            await member_store.member_ids(tx.conn, source_id) - await member_store.member_ids(tx.conn, destination_id)
        )
        still_in_org = await org_store.member_ids(tx.conn, destination.organisation_id)
        await record_joined(tx, destination_id, [u for u in newcomers if u in still_in_org], "member", principal.user_id, "merged")
        actor = f"@{principal.user.username}"
        await post_system_message(
            tx, destination, principal.user_id, "MERGE", f"{actor} merged #{source.name or source.id} into this channel",
            {"merged_from": str(source_id)},
        )
        await post_system_message(
            tx, source, principal.user_id, "MERGE",
            f"{actor} merged this channel into #{destination.name or destination.id}", {"merged_into": str(destination_id)},
        )
        now = tx.now
        source.archived_at, source.merged_into, source.updated_at = now, destination_id, now
        await channel_store.update_channel(
            tx.conn, source_id, {"archived_at": now, "merged_into": destination_id, "updated_at": now}
        )
        detail = {"source_id": str(source_id), "destination_id": str(destination_id), "messages": moved}
        await tx.emit(source_id, events.CHANNEL, "MERGED", channel_payload(source) | detail, principal.user_id)
        await tx.emit(destination_id, events.CHANNEL, "MERGED", channel_payload(destination) | detail, principal.user_id)
        destination.last_seq = await channel_store.last_seq(tx.conn, destination_id)
        role = await member_store.get_role(tx.conn, destination_id, principal.user_id)
        return await view_of(tx.conn, principal, destination, role)
