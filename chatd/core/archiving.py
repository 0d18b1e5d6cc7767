"""Archiving and unarchiving: one action for organisations, teams and channels.

Archived means read-only at every level (``access.check_writable``). Whoever reads an affected channel is
told, in that channel's log with its next seq, so a client offline at the time learns it on resume:

- a channel: ``channel`` ``ARCHIVED``/``UNARCHIVED`` with the channel (as it always was);
- a team: ``team`` ``ARCHIVED``/``UNARCHIVED`` in each of its live channels;
- an organisation: ``organisation`` ``ARCHIVED``/``UNARCHIVED`` in each of its live channels.

Who may: organisation admins archive the organisation and its teams; channel owners and organisation
admins archive a channel. Archiving what is archived (or unarchiving what is not) is a 409.
"""

from __future__ import annotations

from typing import Any, Literal, overload

from ..domain import events
from ..domain.codes import Code
from ..domain.errors import Conflict
from ..domain.models import Channel, ChannelView, Organisation, Principal, Team
from ..store import channels as channel_store
from ..store import orgs as org_store
from ..store import teams as team_store
from .access import access_channel, access_org, access_team
from .channels import channel_payload, view_of
from .clock import iso
from .context import Core, Tx

Level = Literal["organisation", "team", "channel"]


@overload
async def do_set_archived(
    core: Core, principal: Principal, level: Literal["organisation"], entity_id: int, archived: bool
) -> tuple[Organisation, str]: ...
@overload
async def do_set_archived(
    core: Core, principal: Principal, level: Literal["team"], entity_id: int, archived: bool
) -> Team: ...
@overload
async def do_set_archived(
    core: Core, principal: Principal, level: Literal["channel"], entity_id: int, archived: bool
) -> ChannelView: ...
async def do_set_archived(
    core: Core, principal: Principal, level: Level, entity_id: int, archived: bool
) -> tuple[Organisation, str] | Team | ChannelView:
    """Archive (``archived``) or unarchive an organisation, a team or a channel; returns it as the caller sees it."""
    async with core.transaction() as tx:
        if level == "organisation":
            org, role = await access_org(tx.conn, principal, entity_id, "admin")
            await _flip(tx, principal, level, org, archived)
            return org, role
        if level == "team":
            team, _, _ = await access_team(tx.conn, principal, entity_id, "admin")
            await _flip(tx, principal, level, team, archived)
            return team
        found = await access_channel(tx.conn, principal, entity_id, owner=True)
        channel = found.channel
        await _flip(tx, principal, level, channel, archived)
        channel.last_seq = await channel_store.last_seq(tx.conn, channel.id)
        return await view_of(tx.conn, principal, channel, found.role)


async def _flip(
    tx: Tx, principal: Principal, level: Level, entity: Organisation | Team | Channel, archived: bool
) -> None:
    """Set ``archived_at`` and tell the readers of every channel it makes read-only (or writable again)."""
    if (entity.archived_at is not None) == archived:
        raise Conflict(f"{level} is already " + ("archived" if archived else "not archived"), code=Code.ARCHIVED)
    entity.archived_at = tx.now if archived else None
    entity.updated_at = tx.now
    values = {"archived_at": entity.archived_at, "updated_at": tx.now}
    name = "ARCHIVED" if archived else "UNARCHIVED"
    if isinstance(entity, Channel):
        await channel_store.update_channel(tx.conn, entity.id, values)
        await tx.emit(entity.id, events.CHANNEL, name, channel_payload(entity), principal.user_id)
        return
    told: dict[str, Any] = {"archived": archived, "archived_at": iso(entity.archived_at)}
    if isinstance(entity, Team):
        await team_store.update_team(tx.conn, entity.id, values)
        channel_ids = await channel_store.team_channel_ids(tx.conn, entity.id)
        told |= {"team_id": str(entity.id), "organisation_id": str(entity.organisation_id)}
        kind = events.TEAM
    else:
        await org_store.update_org(tx.conn, entity.id, values)
        channel_ids = await channel_store.org_channel_ids(tx.conn, entity.id)
        told |= {"organisation_id": str(entity.id)}
        kind = events.ORGANISATION
    for channel_id in channel_ids:
        await tx.emit(channel_id, kind, name, told, principal.user_id)
