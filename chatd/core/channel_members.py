"""Channel membership: join, leave, add, remove, roles; and removals other aggregates trigger.

Each removal is a channel change: it emits ``member``/``LEFT`` with the channel's next seq, so connections
stop receiving that channel at once and a resuming client learns it was removed.
"""

from __future__ import annotations

from typing import Iterable

from ..domain import events
from ..domain.codes import Code
from ..domain.errors import BadRequest, Conflict, Forbidden, NotFound
from ..domain.models import CHANNEL_ROLES, Membership, Principal
from ..store import channel_members as member_store
from ..store import orgs as org_store
from .access import access_channel, check_writable
from .context import Core, Tx


async def leave_org_channels(tx: Tx, org_id: int, user_ids: Iterable[int], team_id: int | None = None) -> None:
    """Remove users from every channel of an organisation (or of one of its teams) they belong to."""
    for channel_id, user_id in await member_store.memberships_in_org(tx.conn, org_id, user_ids, team_id):
        await member_store.remove(tx.conn, channel_id, [user_id])
        await tx.emit(
            channel_id,
            events.MEMBER,
            "LEFT",
            {"user_id": str(user_id), "reason": "organisation"},
            audience=[user_id],
        )


async def record_joined(tx: Tx, channel_id: int, user_ids: list[int], role: str, actor_id: int, reason: str) -> None:
    await member_store.add(tx.conn, channel_id, user_ids, role, tx.now)
    for user_id in user_ids:
        await tx.emit(
            channel_id,
            events.MEMBER,
            "JOINED",
            {"user_id": str(user_id), "role": role, "by": str(actor_id), "reason": reason},
            actor_id=actor_id,
            audience=[user_id],
        )


async def record_left(tx: Tx, channel_id: int, user_ids: list[int], actor_id: int, reason: str) -> None:
    await member_store.remove(tx.conn, channel_id, user_ids)
    for user_id in user_ids:
        await tx.emit(
            channel_id,
            events.MEMBER,
            "LEFT",
            {"user_id": str(user_id), "by": str(actor_id), "reason": reason},
            actor_id=actor_id,
            audience=[user_id],
        )


async def add_members_in(tx: Tx, principal: Principal, channel_id: int, user_ids: list[int], reason: str = "added") -> list[int]:
    """Owners add organisation members; returns who was actually added (existing members are skipped)."""
    found = await access_channel(tx.conn, principal, channel_id, writing=True, owner=True)
    if found.channel.type == "direct":
        raise BadRequest.field("user_ids", "a direct channel's members are fixed; create a group channel instead")
    wanted = set(user_ids)
    outside = wanted - await org_store.member_ids(tx.conn, found.channel.organisation_id)
    if outside:
        raise BadRequest.field("user_ids", "not members of the organisation: " + ", ".join(map(str, sorted(outside))))
    new = sorted(wanted - await member_store.member_ids(tx.conn, channel_id))
    await record_joined(tx, channel_id, new, "member", principal.user_id, reason)
    return new


async def remove_members_in(tx: Tx, principal: Principal, channel_id: int, user_ids: list[int]) -> list[int]:
    found = await access_channel(tx.conn, principal, channel_id, owner=True)
    if found.channel.type == "direct":
        raise BadRequest.field("user_ids", "a direct channel's members are fixed")
    gone = sorted(set(user_ids) & await member_store.member_ids(tx.conn, channel_id))
    await _ensure_an_owner_remains(tx, channel_id, gone)
    await record_left(tx, channel_id, gone, principal.user_id, "removed")
    return gone


async def _ensure_an_owner_remains(tx: Tx, channel_id: int, leaving: list[int]) -> None:
    members = await member_store.list_members(tx.conn, channel_id)
    owners = {m.user_id for m in members if m.role == "owner"}
    staying = {m.user_id for m in members} - set(leaving)
    if owners and not owners - set(leaving) and staying:
        raise Conflict("the channel's last owner cannot leave while others stay: make someone else owner first", code=Code.LAST_OWNER)


async def do_join(core: Core, principal: Principal, channel_id: int) -> list[Membership]:
    """Join a public channel of one's organisation (private channels need an owner to add you)."""
    async with core.transaction() as tx:
        found = await access_channel(tx.conn, principal, channel_id)
        if found.is_member:
            raise Conflict("already a member of this channel", code=Code.ALREADY_MEMBER)
        if not found.channel.is_open or found.org_role is None:
            raise Forbidden("only public channels can be joined; ask an owner to add you")
        if found.channel.by_request:
            raise Forbidden("this channel takes join requests: ask to join and an admin will approve", code=Code.BY_REQUEST)
        check_writable(found)
        await record_joined(tx, channel_id, [principal.user_id], "member", principal.user_id, "joined")
        return await member_store.list_members(tx.conn, channel_id)


async def do_leave(core: Core, principal: Principal, channel_id: int) -> None:
    async with core.transaction() as tx:
        found = await access_channel(tx.conn, principal, channel_id)
        if not found.is_member:
            raise Conflict("not a member of this channel", code=Code.NOT_MEMBER)
        await _ensure_an_owner_remains(tx, channel_id, [principal.user_id])
        await record_left(tx, channel_id, [principal.user_id], principal.user_id, "left")


async def do_add_members(core: Core, principal: Principal, channel_id: int, user_ids: list[int]) -> list[Membership]:
    async with core.transaction() as tx:
        await add_members_in(tx, principal, channel_id, user_ids)
        return await member_store.list_members(tx.conn, channel_id)


async def do_remove_members(core: Core, principal: Principal, channel_id: int, user_ids: list[int]) -> list[Membership]:
    async with core.transaction() as tx:
        await remove_members_in(tx, principal, channel_id, user_ids)
        return await member_store.list_members(tx.conn, channel_id)


async def set_role_in(tx: Tx, principal: Principal, channel_id: int, user_id: int, role: str) -> None:
    if role not in CHANNEL_ROLES:
        raise BadRequest.field("role", "must be one of " + ", ".join(CHANNEL_ROLES))
    await access_channel(tx.conn, principal, channel_id, writing=True, owner=True)
    current = await member_store.get_role(tx.conn, channel_id, user_id)
    if current is None:
        raise NotFound("that user is not a member of this channel")
    if current == role:
        return
    if role == "member":
        await _ensure_an_owner_remains(tx, channel_id, [user_id])
    await member_store.set_role(tx.conn, channel_id, user_id, role)
    await tx.emit(
        channel_id, events.MEMBER, "ROLE", {"user_id": str(user_id), "role": role, "by": str(principal.user_id)},
        actor_id=principal.user_id, audience=[user_id],
    )


async def do_set_role(core: Core, principal: Principal, channel_id: int, user_id: int, role: str) -> list[Membership]:
    async with core.transaction() as tx:
        await set_role_in(tx, principal, channel_id, user_id, role)
        return await member_store.list_members(tx.conn, channel_id)


async def list_members(core: Core, principal: Principal, channel_id: int) -> list[Membership]:
    async with core.reading() as conn:
        await access_channel(conn, principal, channel_id)
        return await member_store.list_members(conn, channel_id)
