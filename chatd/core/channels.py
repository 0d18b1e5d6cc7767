"""Channels: create (public, private, direct, group), rename and topic, read, search, remove.

Who may: any organisation member creates a channel and becomes its owner; channel owners and organisation
admins change, archive (``archiving.py``) and remove it. A direct channel is between two people (or one, a note to self) and is
unique: asking for it again returns the existing one. Renames and topic changes are told in the channel as
``RENAME``/``TOPIC`` system messages, and creation as a ``CREATE`` message, so history explains itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events
from ..domain.errors import BadRequest
from ..domain.models import CHANNEL_TYPES, Channel, ChannelView, Principal
from ..store import channel_members as member_store
from ..store import channels as channel_store
from ..store import orgs as org_store
from ..store import read_state
from ..store import users as user_store
from .access import access_channel, access_org, access_team
from .clock import iso
from .context import Core, Tx
from .files import picture_file
from .messages import post_system_message
from .orgs import check_name, org_for_new
from .paging import Page, PageRequest

TOPIC_MAX = 1024


def channel_payload(channel: Channel) -> dict[str, Any]:
    """The viewer-independent shape of a channel, as stored in events and sent on the websocket."""
    return {
        "id": str(channel.id),
        "organisation_id": str(channel.organisation_id),
        "team_id": None if channel.team_id is None else str(channel.team_id),
        "name": channel.name,
        "topic": channel.topic,
        "description": channel.description,
        "type": channel.type,
        "created_by": None if channel.created_by is None else str(channel.created_by),
        "created_at": iso(channel.created_at),
        "updated_at": iso(channel.updated_at),
        "archived": channel.archived_at is not None,
        "archived_at": iso(channel.archived_at),
        "group_type": channel.group_type,
        "category": channel.category,
        "by_request": channel.by_request,
        "picture_file_id": None if channel.picture_file_id is None else str(channel.picture_file_id),
        "merged_into": None if channel.merged_into is None else str(channel.merged_into),
        "last_seq": channel.last_seq,
        "last_message_at": iso(channel.last_message_at),
    }


DESCRIPTION_MAX = 4000
CATEGORY_MAX = 128
EXTRA_KEYS = {"description", "group_type", "category", "by_request", "picture_file_id", "type"}


async def check_extra(tx: Tx, principal: Principal, extra: dict[str, Any] | None, channel: Channel) -> dict[str, Any]:
    """Settings beyond name and topic (the WorkDrive face sets them): checked here, whichever face sends them."""
    checked = dict(extra or {})
    unknown = set(checked) - EXTRA_KEYS
    if unknown:
        raise BadRequest.field(sorted(unknown)[0], "not a channel setting")
    if "description" in checked:
        checked["description"] = str(checked["description"] or "").strip()
        if len(checked["description"]) > DESCRIPTION_MAX:
            raise BadRequest.field("description", f"at most {DESCRIPTION_MAX} characters")
    if "category" in checked:
        checked["category"] = str(checked["category"] or "").strip()
        if len(checked["category"]) > CATEGORY_MAX:
            raise BadRequest.field("category", f"at most {CATEGORY_MAX} characters")
    if "group_type" in checked and checked["group_type"] not in ("CHAT_GROUP", "ROOM"):
        raise BadRequest.field("group_type", "must be CHAT_GROUP or ROOM")
    if "type" in checked and checked["type"] != channel.type:
        if {channel.type, checked["type"]} != {"public", "private"}:
            raise BadRequest.field("type", "only public and private channels switch between the two")
    if checked.get("picture_file_id") is not None:
        picture = await picture_file(tx, principal, checked["picture_file_id"], "picture_file_id", channel_id=channel.id)
        checked["picture_file_id"] = picture.id
    return checked


def check_type(type: str) -> str:
    if type not in CHANNEL_TYPES:
        raise BadRequest.field("type", "must be one of " + ", ".join(CHANNEL_TYPES))
    return type


def check_topic(topic: str) -> str:
    topic = topic.strip()
    if len(topic) > TOPIC_MAX:
        raise BadRequest.field("topic", f"must be at most {TOPIC_MAX} characters")
    return topic


async def check_org_members(conn: AsyncConnection, org_id: int, user_ids: set[int], field: str = "members") -> None:
    outside = user_ids - await org_store.member_ids(conn, org_id)
    if outside:
        raise BadRequest.field(field, "not members of the organisation: " + ", ".join(str(u) for u in sorted(outside)))


async def view_of(conn: AsyncConnection, principal: Principal, channel: Channel, role: str | None) -> ChannelView:
    member = (await read_state.member_states(conn, principal.user_id, [channel.id])).get(channel.id)
    member_count = (await channel_store.member_counts(conn, [channel.id])).get(channel.id, 0)
    return _view(channel, role, member_count, member)


async def views_of(conn: AsyncConnection, principal: Principal, found: list[Channel]) -> list[ChannelView]:
    """Each channel as ``principal`` sees it: the member rows' roles, counts and markers in one statement."""
    ids = [c.id for c in found]
    members = await read_state.member_states(conn, principal.user_id, ids)
    sizes = await channel_store.member_counts(conn, ids)
    return [view_from(channel, sizes.get(channel.id, 0), members.get(channel.id)) for channel in found]


def view_from(channel: Channel, member_count: int, member: read_state.MemberState | None) -> ChannelView:
    """The channel as its viewer sees it, given their member row (None: not a member)."""
    return _view(channel, member.role if member else None, member_count, member)


def _view(channel: Channel, role: str | None, member_count: int, member: read_state.MemberState | None) -> ChannelView:
    """Counts and the marker are kept for members only (None for everyone else)."""
    if member is None:
        return ChannelView(channel, role, member_count, None, None, None)
    return ChannelView(channel, role, member_count, member.unread, member.mentions, member.last_read_message_id)


async def create_channel_in(
    tx: Tx,
    principal: Principal,
    *,
    name: str,
    type: str,
    organisation_id: int | None = None,
    team_id: int | None = None,
    topic: str = "",
    members: list[int] | None = None,
    extra: dict[str, Any] | None = None,
    owners: list[int] | None = None,
) -> tuple[Channel, bool]:
    """Create a channel inside an open transaction; returns (channel, created). Both faces use this."""
    type = check_type(type)
    topic = check_topic(topic)
    if team_id is not None:
        team, _, _ = await access_team(tx.conn, principal, team_id, writing=True)
        if organisation_id is not None and organisation_id != team.organisation_id:
            raise BadRequest.field("team_id", "the team belongs to another organisation")
        organisation_id = team.organisation_id
    organisation_id = await org_for_new(tx.conn, principal, organisation_id)
    await access_org(tx.conn, principal, organisation_id, writing=True)
    wanted = set(members or []) | set(owners or [])
    await check_org_members(tx.conn, organisation_id, wanted)
    direct_key = None
    if type == "direct":
        others = wanted - {principal.user_id}
        if len(others) > 1:
            raise BadRequest.field("members", "a direct channel is between two people: name one other member")
        pair = sorted({principal.user_id, *others})
        direct_key = f"{organisation_id}:" + ":".join(str(u) for u in pair)
        existing = await channel_store.find_direct(tx.conn, direct_key)
        if existing is not None:
            return existing, False
        name = name.strip()
    else:
        name = check_name(name) if type in ("public", "private") or name.strip() else ""
    now = tx.now
    channel = Channel(
        id=tx.new_id(),
        organisation_id=organisation_id,
        team_id=team_id,
        name=name,
        topic=topic,
        type=type,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
        archived_at=None,
        removed_at=None,
        last_seq=0,
        direct_key=direct_key,
    )
    for key, value in (await check_extra(tx, principal, extra, channel)).items():
        setattr(channel, key, value)
    await channel_store.insert_channel(tx.conn, _row(channel))
    owner_ids = {principal.user_id, *(owners or [])}
    if type == "direct":
        owner_ids |= wanted
    await member_store.add(tx.conn, channel.id, sorted(owner_ids), "owner", now)
    await member_store.add(tx.conn, channel.id, sorted(wanted - owner_ids), "member", now)
    member_ids = sorted(wanted | owner_ids)
    await tx.emit(channel.id, events.CHANNEL, "CREATED", channel_payload(channel), principal.user_id, member_ids)
    opened = "started this conversation" if type in ("direct", "group") else "created this channel"
    await post_system_message(tx, channel, principal.user_id, "CREATE", f"@{principal.user.username} {opened}", {"name": name})
    channel.last_seq = await channel_store.last_seq(tx.conn, channel.id)
    return channel, True


def _row(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "organisation_id": channel.organisation_id,
        "team_id": channel.team_id,
        "name": channel.name,
        "topic": channel.topic,
        "description": channel.description,
        "type": channel.type,
        "direct_key": channel.direct_key,
        "group_type": channel.group_type,
        "category": channel.category,
        "by_request": channel.by_request,
        "picture_file_id": channel.picture_file_id,
        "created_by": channel.created_by,
        "created_at": channel.created_at,
        "updated_at": channel.updated_at,
    }


async def do_create_channel(core: Core, principal: Principal, **spec: Any) -> ChannelView:
    async with core.transaction() as tx:
        channel, _ = await create_channel_in(tx, principal, **spec)
        role = await member_store.get_role(tx.conn, channel.id, principal.user_id)
        return await view_of(tx.conn, principal, channel, role)


async def update_channel_in(
    tx: Tx, principal: Principal, channel_id: int, *, name: str | None = None, topic: str | None = None,
    extra: dict[str, Any] | None = None, organisation_id: int | None = None, team_id: int | None = None,
) -> Channel:
    """Rename, change the topic (each told by a system message) or other settings; owners only.
    ``organisation_id``/``team_id``: where the caller believes the channel is; another place is a move,
    which an update does not make (400 naming ``/channel/move``), rather than a silent success."""
    found = await access_channel(tx.conn, principal, channel_id, writing=True, owner=True)
    channel = found.channel
    places = (("organisation_id", organisation_id, channel.organisation_id), ("team_id", team_id, channel.team_id))
    for field, given, current in places:
        if given is not None and given != current:
            raise BadRequest.field(field, "an update does not move a channel: POST /channel/move")
    changes: dict[str, Any] = {}
    actor = f"@{principal.user.username}"
    if name is not None and name.strip() != channel.name:
        if channel.type == "direct":
            raise BadRequest.field("name", "direct channels have no name")
        new_name = check_name(name)
        await post_system_message(
            tx, channel, principal.user_id, "RENAME", f"{actor} renamed the channel from {channel.name} to {new_name}",
            {"old": channel.name, "new": new_name},
        )
        channel.name = changes["name"] = new_name
    if topic is not None and topic.strip() != channel.topic:
        new_topic = check_topic(topic)
        await post_system_message(
            tx, channel, principal.user_id, "TOPIC", f"{actor} changed the topic to: {new_topic}",
            {"old": channel.topic, "new": new_topic},
        )
        channel.topic = changes["topic"] = new_topic
    for key, value in (await check_extra(tx, principal, extra, channel)).items():
        if getattr(channel, key) != value:
            setattr(channel, key, value)
            changes[key] = value
    if changes:
        channel.updated_at = changes["updated_at"] = tx.now
        await channel_store.update_channel(tx.conn, channel_id, changes)
        await tx.emit(channel_id, events.CHANNEL, "UPDATED", channel_payload(channel), principal.user_id)
    channel.last_seq = await channel_store.last_seq(tx.conn, channel_id)
    return channel


async def do_update_channel(
    core: Core, principal: Principal, channel_id: int, *, name: str | None = None, topic: str | None = None,
    **more: Any,
) -> ChannelView:
    """``update_channel_in`` in a transaction of its own, answered as the caller sees the channel."""
    async with core.transaction() as tx:
        channel = await update_channel_in(tx, principal, channel_id, name=name, topic=topic, **more)
        role = await member_store.get_role(tx.conn, channel_id, principal.user_id)
        return await view_of(tx.conn, principal, channel, role)


async def read_channel(core: Core, principal: Principal, channel_id: int) -> ChannelView:
    async with core.reading() as conn:
        found = await access_channel(conn, principal, channel_id)
        return await view_of(conn, principal, found.channel, found.role)


async def search_channels(core: Core, principal: Principal, *, page: PageRequest, **filters: Any) -> Page[ChannelView]:
    """Channels the caller may read (``search_in``)."""
    async with core.reading() as conn:
        return await search_in(conn, principal, page=page, **filters)


async def search_in(
    conn: AsyncConnection,
    principal: Principal,
    *,
    query: str = "",
    team_id: int | None = None,
    organisation_id: int | None = None,
    type: str | None = None,
    archived: bool | None = None,
    member_only: bool = False,
    page: PageRequest,
    types: tuple[str, ...] | None = None,
    group_type: str | None = None,
    created_until: int | None = None,
) -> Page[ChannelView]:
    """Channels the caller may read. ``type`` or ``types`` narrow by type, ``group_type`` by the WorkDrive
    kind (``CHAT_GROUP``/``ROOM``), ``created_until`` (ms) to channels created at or before that moment."""
    for one in (type, *(types or ())):
        if one is not None:
            check_type(one)
    found, total = await channel_store.search_channels(
        conn,
        principal.user_id,
        principal.user.is_admin,
        query=query.strip(),
        team_id=team_id,
        organisation_id=organisation_id,
        type=type,
        archived=archived,
        member_only=member_only,
        offset=page.offset,
        limit=page.per_page,
        types=types,
        group_type=group_type,
        created_until=created_until,
    )
    return Page(await views_of(conn, principal, found), total, page)


async def remove_channel_in(tx: Tx, principal: Principal, channel_id: int) -> None:
    found = await access_channel(tx.conn, principal, channel_id, owner=True)
    channel = found.channel
    channel.removed_at = channel.updated_at = tx.now
    members = sorted(await member_store.member_ids(tx.conn, channel_id))
    await tx.emit(channel_id, events.CHANNEL, "REMOVED", channel_payload(channel), principal.user_id, members)
    await channel_store.update_channel(tx.conn, channel_id, {"removed_at": tx.now, "updated_at": tx.now})


async def do_remove_channel(core: Core, principal: Principal, channel_id: int) -> None:
    """Soft removal: messages stay in the store (docs/design.md §3) but nobody can reach the channel any more."""
    async with core.transaction() as tx:
        await remove_channel_in(tx, principal, channel_id)
