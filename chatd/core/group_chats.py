"""Group chats: the WorkDrive face's name for public and private channels, managed a whole request at a time.

A group chat is a channel: every change here is the channel core's (``create_channel_in``,
``update_channel_in``, ``add_members_in``, ``set_role_in`` …), so it stores and publishes the same channel
events as the Crust face. What this module adds is the WorkDrive way of asking: one request creates a chat
with its admins and members, or changes its settings and its members together, all or nothing, in one
transaction; and the answer carries the members' profiles, read in that same transaction.

Direct and untitled group channels are conversations, not group chats: not managed here (404).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from ..domain.errors import BadRequest, NotFound, fields_renamed
from ..domain.models import Channel, ChannelView, Membership, Principal
from ..store import channel_members as member_store
from ..store import users as user_store
from . import channel_members, channels
from .access import access_channel
from .context import Core, Tx
from .profiles import Profile, profiles_of
from .paging import Page, PageRequest

GROUP_CHAT_TYPES = ("public", "private")
TITLE_MAX = 128
REMOVE_MAX = 100


@dataclass(slots=True)
class GroupChat:
    """A group chat as the caller sees it; ``members`` (with their ``people``) when shown."""

    view: ChannelView
    members: list[Membership] | None = None
    people: dict[int, Profile] = field(default_factory=dict)


@dataclass(slots=True)
class NewGroupChat:
    title: str | None  # a ROOM without one is named after its members (``room_title``)
    is_private: bool = False
    admins: list[int] = field(default_factory=list)
    members: list[int] = field(default_factory=list)
    organisation_id: int | None = None  # default: the caller's only organisation (``orgs.org_for_new``)
    settings: dict[str, Any] = field(default_factory=dict)  # ``channels.check_extra``'s keys


@dataclass(slots=True)
class GroupChatChanges:
    """Settings first (``title``, then ``channels.check_extra``'s keys: ``None`` clears), then members."""

    title: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    add_members: list[int] = field(default_factory=list)
    new_admins: list[int] = field(default_factory=list)
    removed_admins: list[int] = field(default_factory=list)
    remove_members: list[int] = field(default_factory=list)
    organisation_id: int | None = None  # where the caller believes it is: another is refused (a move)


def check_group_chat(channel: Channel) -> Channel:
    """Only public and private channels are group chats."""
    if channel.type not in GROUP_CHAT_TYPES:
        raise NotFound("no such group chat")
    return channel


async def _shown(tx: Tx, principal: Principal, channel: Channel) -> GroupChat:
    """The group chat as the caller now sees it, with its members and their profiles; a caller who can no
    longer read it (an organisation admin who made it private) gets the view without them."""
    [view] = await channels.views_of(tx.conn, principal, [channel])
    try:
        await access_channel(tx.conn, principal, channel.id)
    except NotFound:
        return GroupChat(view)
    members = await member_store.list_members(tx.conn, channel.id)
    return GroupChat(view, members, await profiles_of(tx.conn, tx.core, principal, [m.user_id for m in members]))


def room_title(names: list[str]) -> str:
    """A ROOM's name when it is given none (the spec gives rooms none): its people, the creator first, as
    "Ann, Bob and Carol", or "Ann, Bob, Carol and 4 others" beyond three; within the 128 characters of a name."""
    shown = names[:3]
    rest = len(names) - len(shown)
    if rest:
        title = ", ".join(shown) + f" and {rest} other" + ("s" if rest > 1 else "")
    else:
        title = ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1]
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


async def _title(tx: Tx, principal: Principal, new: NewGroupChat, people: list[int]) -> str:
    if new.title is not None and new.title.strip():
        return new.title
    if new.settings.get("group_type") != "ROOM":
        raise BadRequest.field("title", "required for a CHAT_GROUP (a ROOM without one is named after its members)")
    everyone = [principal.user_id, *people]
    found = await user_store.get_users(tx.conn, everyone)
    return room_title([found[u].display_name or found[u].username for u in everyone if u in found])


async def do_create_group_chat(core: Core, principal: Principal, new: NewGroupChat) -> GroupChat:
    """The creator and ``admins`` own it, ``members`` join it; its history starts with a ``CREATE`` message."""
    admins = list(dict.fromkeys(new.admins))
    members = [user_id for user_id in dict.fromkeys(new.members) if user_id not in admins]
    async with core.transaction() as tx:
        title = await _title(tx, principal, new, [u for u in (*admins, *members) if u != principal.user_id])
        channel, _ = await channels.create_channel_in(
            tx, principal, name=title, type="private" if new.is_private else "public",
            organisation_id=new.organisation_id, members=members, owners=admins, extra=new.settings,
        )
        return await _shown(tx, principal, channel)


async def do_update_group_chat(
    core: Core, principal: Principal, channel_id: int, changes: GroupChatChanges
) -> GroupChat:
    """Settings, then ``add_members``, ``new_admins``, ``removed_admins``, ``remove_members``: all or nothing.
    Only the group chat's admins (and organisation admins); removing oneself is leaving, not this."""
    async with core.transaction() as tx:
        channel = check_group_chat((await access_channel(tx.conn, principal, channel_id, owner=True)).channel)
        if changes.organisation_id not in (None, channel.organisation_id):
            raise BadRequest.field("organisation_id", "an update does not move a group chat: POST /channel/move")
        if principal.user_id in changes.remove_members:
            raise BadRequest.field("remove_members", "cannot remove yourself: leave with POST /channel/leave")
        settings = {
            key: value for key, value in changes.settings.items()
            if key != "picture_file_id" or value != channel.picture_file_id
        }
        if changes.title is not None or settings:
            channel = await channels.update_channel_in(tx, principal, channel_id, name=changes.title, extra=settings)
        if changes.add_members:
            with fields_renamed({"user_ids": "add_members"}):
                await channel_members.add_members_in(tx, principal, channel_id, changes.add_members)
        for name, user_ids, role in (
            ("new_admins", changes.new_admins, "owner"), ("removed_admins", changes.removed_admins, "member")
        ):
            for user_id in dict.fromkeys(user_ids):
                try:
                    await channel_members.set_role_in(tx, principal, channel_id, user_id, role)
                except NotFound:
                    raise BadRequest.field(name, f"not a member of the group chat: {user_id}") from None
        if changes.remove_members:
            with fields_renamed({"user_ids": "remove_members"}):
                await channel_members.remove_members_in(tx, principal, channel_id, changes.remove_members)
        return await _shown(tx, principal, channel)


async def do_remove_group_chats(core: Core, principal: Principal, channel_ids: list[int]) -> list[int]:
    """Remove every group chat named, or none: each needs its admin (or an organisation admin). Errors name
    the item (``id.1``) when several are named."""
    if not 1 <= len(channel_ids) <= REMOVE_MAX:
        raise BadRequest.field("id", f"give 1 to {REMOVE_MAX} group chat ids")
    unique = list(dict.fromkeys(channel_ids))
    bulk = len(channel_ids) > 1
    async with core.transaction() as tx:
        for channel_id in unique:
            with fields_renamed(item=f"id.{channel_ids.index(channel_id)}") if bulk else nullcontext():
                check_group_chat((await access_channel(tx.conn, principal, channel_id, owner=True)).channel)
                await channels.remove_channel_in(tx, principal, channel_id)
    return unique


async def list_group_chats(
    core: Core,
    principal: Principal,
    page: PageRequest,
    *,
    group_type: str | None = None,
    created_until: int | None = None,
    member_only: bool = False,
    with_members: bool = False,
) -> Page[GroupChat]:
    """Group chats the caller may read (``member_only``: those they belong to), by title; ``with_members``
    adds each one's members and their profiles, read in the same snapshot."""
    async with core.reading() as conn:
        found = await channels.search_in(
            conn, principal, types=GROUP_CHAT_TYPES, group_type=group_type, created_until=created_until,
            member_only=member_only, page=page,
        )
        if not with_members:
            return Page([GroupChat(view) for view in found.items], found.total, page)
        rosters = await member_store.members_of(conn, [v.channel.id for v in found.items])
        people = await profiles_of(conn, core, principal, [m.user_id for roster in rosters.values() for m in roster])
        return Page([GroupChat(v, rosters[v.channel.id], people) for v in found.items], found.total, page)
