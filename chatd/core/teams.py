"""Teams: groups of organisation members, with channels of their own.

Who may: any organisation member creates a team (and joins it); the team's creator and organisation
admins rename it and set its members; organisation admins archive, remove and move it. Team membership
does not gate channel access (public channels are readable across the organisation); it groups people.
"""

from __future__ import annotations

from typing import Iterable

from ..domain import events
from ..domain.errors import BadRequest
from ..domain.models import Membership, Principal, Team
from ..store import channels as channel_store
from ..store import orgs as org_store
from ..store import teams as team_store
from .access import access_org, access_team
from .channel_members import leave_org_channels
from .channels import channel_payload
from .context import Core, Tx
from .orgs import check_name, org_for_new
from .paging import Page, PageRequest


async def _check_members(tx: Tx, org_id: int, members: Iterable[int]) -> set[int]:
    wanted = set(members)
    outside = wanted - await org_store.member_ids(tx.conn, org_id)
    if outside:
        listed = ", ".join(str(uid) for uid in sorted(outside))
        raise BadRequest.field("members", f"not members of the organisation: {listed}")
    return wanted


async def _replace_members(tx: Tx, team_id: int, wanted: set[int]) -> None:
    current = await team_store.member_ids(tx.conn, team_id)
    await team_store.remove_members(tx.conn, team_id, current - wanted)
    await team_store.add_members(tx.conn, team_id, sorted(wanted - current), tx.now)


async def do_create_team(
    core: Core, principal: Principal, org_id: int | None, name: str, members: list[int] | None
) -> tuple[Team, list[Membership]]:
    """A new team of ``org_id`` (default: the caller's only organisation, ``orgs.org_for_new``)."""
    name = check_name(name)
    async with core.transaction() as tx:
        org_id = await org_for_new(tx.conn, principal, org_id)
        await access_org(tx.conn, principal, org_id, writing=True)
        wanted = await _check_members(tx, org_id, members or [])
        wanted.add(principal.user_id)
        team = Team(
            id=tx.new_id(),
            organisation_id=org_id,
            name=name,
            created_by=principal.user_id,
            created_at=tx.now,
            updated_at=tx.now,
            archived_at=None,
        )
        await team_store.insert_team(
            tx.conn,
            {
                "id": team.id,
                "organisation_id": org_id,
                "name": name,
                "created_by": principal.user_id,
                "created_at": tx.now,
                "updated_at": tx.now,
            },
        )
        await team_store.add_members(tx.conn, team.id, sorted(wanted), tx.now)
        return team, await team_store.list_members(tx.conn, team.id)


async def do_update_team(
    core: Core, principal: Principal, team_id: int, name: str | None, members: list[int] | None,
    organisation_id: int | None = None,
) -> tuple[Team, list[Membership]]:
    """Rename and replace members. ``organisation_id``: where the caller believes the team is; another is
    a move, which an update does not make (400 naming ``/team/move``) rather than answer as if it had."""
    async with core.transaction() as tx:
        team, _, _ = await access_team(tx.conn, principal, team_id, writing=True, manage=True)
        if organisation_id not in (None, team.organisation_id):
            raise BadRequest.field("organisation_id", "an update does not move a team: POST /team/move")
        changes: dict[str, object] = {"updated_at": tx.now}
        if name is not None:
            team.name = changes["name"] = check_name(name)
        if members is not None:
            await _replace_members(tx, team_id, await _check_members(tx, team.organisation_id, members))
        await team_store.update_team(tx.conn, team_id, changes)
        team.updated_at = tx.now
        return team, await team_store.list_members(tx.conn, team_id)


async def read_team(core: Core, principal: Principal, team_id: int) -> tuple[Team, list[Membership]]:
    async with core.reading() as conn:
        team, _, _ = await access_team(conn, principal, team_id)
        return team, await team_store.list_members(conn, team_id)


async def search_teams(
    core: Core,
    principal: Principal,
    query: str,
    org_id: int | None,
    archived: bool | None,
    page: PageRequest,
) -> Page[Team]:
    async with core.reading() as conn:
        if org_id is not None:
            await access_org(conn, principal, org_id)
        items, total = await team_store.search_teams(
            conn, principal.user_id, query.strip(), org_id, archived, page.offset, page.per_page
        )
    return Page(items, total, page)


async def do_remove_team(core: Core, principal: Principal, team_id: int) -> None:
    """Soft removal. The team's channels stay, as channels of the organisation: no message is lost."""
    async with core.transaction() as tx:
        await access_team(tx.conn, principal, team_id, "admin")
        await team_store.update_team(tx.conn, team_id, {"removed_at": tx.now, "updated_at": tx.now})
        await channel_store.detach_team(tx.conn, team_id, tx.now)


async def do_move_team(core: Core, principal: Principal, team_id: int, target_org_id: int) -> tuple[Team, list[Membership]]:
    """Move a team, and its channels, to another organisation where the caller is also an admin.

    Team members who are not members of the target organisation leave the team; members of the team's
    channels who are not in the target organisation leave those channels (each a ``member LEFT`` event),
    so nobody keeps reading a channel of an organisation they do not belong to.
    """
    async with core.transaction() as tx:
        team, _, _ = await access_team(tx.conn, principal, team_id, "admin", writing=True)
        if target_org_id == team.organisation_id:
            raise BadRequest.field("organisation_id", "the team is already in that organisation")
        await access_org(tx.conn, principal, target_org_id, "admin", writing=True)
        target_members = await org_store.member_ids(tx.conn, target_org_id)
        team_members = await team_store.member_ids(tx.conn, team_id)
        await team_store.remove_members(tx.conn, team_id, team_members - target_members)
        source_org = team.organisation_id
        channel_ids = await channel_store.team_channel_ids(tx.conn, team_id)
        for channel_id in channel_ids:
            outsiders = await channel_store.member_ids_outside_org(tx.conn, channel_id, target_org_id)
            await leave_org_channels(tx, source_org, outsiders, team_id=team_id)
        await channel_store.move_team_channels(tx.conn, team_id, target_org_id, tx.now)
        for channel_id in channel_ids:
            channel = await channel_store.get_channel(tx.conn, channel_id)
            assert channel is not None
            payload = channel_payload(channel) | {"from_organisation_id": str(source_org)}
            await tx.emit(channel_id, events.CHANNEL, "MOVED", payload, actor_id=principal.user_id)
        await team_store.update_team(tx.conn, team_id, {"organisation_id": target_org_id, "updated_at": tx.now})
        team.organisation_id = target_org_id
        team.updated_at = tx.now
        return team, await team_store.list_members(tx.conn, team_id)
