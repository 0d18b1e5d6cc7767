"""``/api/group-chats…``: group chats are chatd channels (public or private), changed through the core.

Listing, creating, editing (title, description, privacy, picture, category, admins and members) and deleting
group chats, and the join requests of ``byRequest`` ones (docs/workdrive.md). Each change is the core's
(``create_channel_in``, ``update_channel_in``, ``add_members_in``, ``set_role_in`` …), composed in one
transaction per request, so it stores and publishes the same channel events as the Crust face.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, Literal

from pydantic import Field
from starlette.routing import Route

from ...core import channel_members, channels, join_requests, orgs
from ...core.channel_access import access_channel
from ...core.errors import BadRequest, NotFound
from ...core.models import Channel, ChannelView
from ...core.paging import PageRequest
from ...core.users import item_errors
from ...edge.params import Id, Params
from ...edge.responses import JSON, Call, endpoint
from . import shapes
from .users import CamelParams

GROUP_CHAT_TYPES = ("public", "private")
DESCRIPTION_MAX = 4096
CATEGORY_MAX = 128
MEMBERS_MAX = 500
DELETE_MAX = 100

GroupType = Literal["CHAT_GROUP", "ROOM"]


class ListParams(Params):
    cur_page: int = Field(1, ge=1)
    per_page: int = Field(10, ge=1)
    group_type: GroupType | None = None
    my_group_chats: bool = False
    include_participants: bool = False
    time: shapes.Time | None = None


class MemberParams(CamelParams):
    id: Id
    is_admin: bool = False


class CreateParams(CamelParams):
    title: str
    is_private: bool = False
    by_request: bool = False
    description: str | None = Field(None, max_length=DESCRIPTION_MAX)
    members: list[MemberParams] = Field(default_factory=list, max_length=MEMBERS_MAX)
    file_id: Id | None = None
    group_type: GroupType = "CHAT_GROUP"
    category: str | None = Field(None, max_length=CATEGORY_MAX)
    organization_id: Id | None = None


class UpdateParams(CamelParams):
    title: str | None = None
    description: str | None = Field(None, max_length=DESCRIPTION_MAX)
    is_private: bool | None = None
    by_request: bool | None = None
    file_id: Id | None = None
    category: str | None = Field(None, max_length=CATEGORY_MAX)
    new_admins: list[Id] = Field(default_factory=list, max_length=MEMBERS_MAX)
    removed_admins: list[Id] = Field(default_factory=list, max_length=MEMBERS_MAX)
    add_members: list[Id] = Field(default_factory=list, max_length=MEMBERS_MAX)
    remove_members: list[Id] = Field(default_factory=list, max_length=MEMBERS_MAX)


class DeleteParams(Params):
    id: list[Id] = Field(min_length=1, max_length=DELETE_MAX)


class PageParams(Params):
    cur_page: int = Field(1, ge=1)
    per_page: int = Field(10, ge=1)


def _page(call: Call[Any]) -> PageRequest:
    return PageRequest.of(call.params.cur_page, call.params.per_page, call.core.settings.limits.page_size_max)


def _group_chat(channel: Channel) -> Channel:
    """Direct and untitled group channels are conversations, not group chats: not managed here."""
    if channel.type not in GROUP_CHAT_TYPES:
        raise NotFound("no such group chat")
    return channel


async def _organisation(call: Call[Any], given: int | None) -> int:
    """The organisation named, else the caller's only one."""
    if given is not None:
        return given
    mine = await orgs.search_orgs(call.core, call.who, "", None, PageRequest(1, 2))
    if mine.total == 1:
        return mine.items[0][0].id
    where = "no organisation" if mine.total == 0 else "several organisations"
    raise BadRequest.field("organizationId", f"required: you belong to {where}")


async def _shaped(call: Call[Any], channel_id: int, view: ChannelView | None = None) -> dict[str, Any]:
    """The group chat as the caller now sees it, with its participants and admins. With ``view`` (taken in
    the transaction that changed it), a caller who can no longer read it gets that view, without them."""
    try:
        view = await channels.read_channel(call.core, call.who, channel_id)
        members = await channel_members.list_members(call.core, call.who, channel_id)
    except NotFound:
        if view is None:
            raise
        return shapes.conversation(view)
    async with call.core.reading() as conn:
        profiles = await shapes.people(conn, call.core, [m.user_id for m in members])
    return shapes.conversation(view, members, profiles)


@endpoint(ListParams)
@shapes.camel_errors
async def list_group_chats(call: Call[ListParams]) -> dict[str, Any]:
    """Group chats the caller may read (``my_group_chats``: those they belong to), by title."""
    p = call.params
    found = await channels.search_channels(
        call.core, call.who, types=GROUP_CHAT_TYPES, group_type=p.group_type, created_until=p.time,
        member_only=p.my_group_chats, page=_page(call),
    )
    if not p.include_participants:
        return shapes.page("conversations", found, shapes.conversation)
    rosters = {v.channel.id: await channel_members.list_members(call.core, call.who, v.channel.id) for v in found.items}
    async with call.core.reading() as conn:
        profiles = await shapes.people(conn, call.core, [m.user_id for r in rosters.values() for m in r])
    return shapes.page("conversations", found, lambda v: shapes.conversation(v, rosters[v.channel.id], profiles))


@endpoint(CreateParams)
@shapes.camel_errors
async def create(call: Call[CreateParams]) -> dict[str, Any]:
    p = call.params
    org_id = await _organisation(call, p.organization_id)
    extra: dict[str, Any] = {
        "description": (p.description or "").strip(),
        "group_type": p.group_type,
        "category": (p.category or "").strip(),
        "by_request": p.by_request,
    }
    owners = [m.id for m in p.members if m.is_admin]
    members = [m.id for m in p.members if not m.is_admin and m.id not in owners]
    with shapes.renamed_errors({"name": "title", "organisation_id": "organizationId"}):
        async with call.core.transaction() as tx:
            if p.file_id is not None:  # the core checks it is the caller's own image (``fileId`` in errors)
                extra["picture_file_id"] = p.file_id
            channel, _ = await channels.create_channel_in(
                tx, call.who, name=p.title, type="private" if p.is_private else "public", organisation_id=org_id,
                members=members, owners=owners, extra=extra,
            )
    return await _shaped(call, channel.id)


def _settings(p: UpdateParams) -> dict[str, Any]:
    """Channel fields to change; a field sent as ``null`` is cleared."""
    given = p.model_fields_set
    extra: dict[str, Any] = {}
    if "description" in given:
        extra["description"] = (p.description or "").strip()
    if "category" in given:
        extra["category"] = (p.category or "").strip()
    if p.is_private is not None:
        extra["type"] = "private" if p.is_private else "public"
    if p.by_request is not None:
        extra["by_request"] = p.by_request
    return extra


@endpoint(UpdateParams)
@shapes.camel_errors
async def update(call: Call[UpdateParams]) -> dict[str, Any]:
    """Settings, then ``addMembers``, ``newAdmins``, ``removedAdmins``, ``removeMembers``: all or nothing."""
    p, who, channel_id = call.params, call.who, shapes.path_id(call)
    async with call.core.transaction() as tx:
        channel = _group_chat((await access_channel(tx.conn, who, channel_id, owner=True)).channel)
        if who.user_id in p.remove_members:
            raise BadRequest.field("removeMembers", "cannot remove yourself: leave with POST /channel/leave")
        extra = _settings(p)
        if "file_id" in p.model_fields_set and p.file_id != channel.picture_file_id:
            extra["picture_file_id"] = p.file_id
        if p.title is not None or extra:
            with shapes.renamed_errors({"name": "title"}):
                channel = await channels.update_channel_in(tx, who, channel_id, name=p.title, extra=extra)
        if p.add_members:
            with shapes.renamed_errors({"user_ids": "addMembers"}):
                await channel_members.add_members_in(tx, who, channel_id, p.add_members)
        for field, user_ids, role in (("newAdmins", p.new_admins, "owner"), ("removedAdmins", p.removed_admins, "member")):
            for user_id in dict.fromkeys(user_ids):
                try:
                    await channel_members.set_role_in(tx, who, channel_id, user_id, role)
                except NotFound:
                    raise BadRequest.field(field, f"not a member of the group chat: {user_id}") from None
        if p.remove_members:
            with shapes.renamed_errors({"user_ids": "removeMembers"}):
                await channel_members.remove_members_in(tx, who, channel_id, p.remove_members)
        [view] = await channels.views_of(tx.conn, who, [channel])
    return await _shaped(call, channel_id, view)  # an org admin may have made it private to themselves


@endpoint(DeleteParams)
@shapes.camel_errors
async def delete(call: Call[DeleteParams]) -> dict[str, Any]:
    """Remove every group chat named, or none: each needs its owner (or an organisation admin)."""
    ids = call.params.id
    unique = list(dict.fromkeys(ids))
    bulk = len(ids) > 1
    async with call.core.transaction() as tx:
        for channel_id in unique:
            with item_errors(f"id.{ids.index(channel_id)}") if bulk else nullcontext():
                _group_chat((await access_channel(tx.conn, call.who, channel_id, owner=True)).channel)
                await channels.remove_channel_in(tx, call.who, channel_id)
    return {"deleted": [str(channel_id) for channel_id in unique]}


# Join requests -----------------------------------------------------------------------------------------


async def _request_shaped(call: Call[Any], requests: list[join_requests.JoinRequest]) -> list[dict[str, Any]]:
    async with call.core.reading() as conn:
        profiles = await shapes.people(conn, call.core, [r.user_id for r in requests])
    return [shapes.join_request(r, profiles) for r in requests]


@endpoint(Params)
@shapes.camel_errors
async def request_join(call: Call[Params]) -> JSON:
    """Ask to join a ``byRequest`` group chat: 201 with the new request, 200 with a pending one."""
    request, created = await join_requests.do_request_join(call.core, call.who, shapes.path_id(call))
    [shaped] = await _request_shaped(call, [request])
    return JSON(shaped, status_code=201 if created else 200)


@endpoint(PageParams)
@shapes.camel_errors
async def list_join_requests(call: Call[PageParams]) -> dict[str, Any]:
    found = await join_requests.list_pending(call.core, call.who, shapes.path_id(call), _page(call))
    return {"joinRequests": await _request_shaped(call, found.items), "meta": shapes.meta(found)}


async def _decide(call: Call[Params], approve: bool) -> dict[str, Any]:
    channel_id, request_id = shapes.path_id(call), shapes.path_id(call, "requestId")
    request = await join_requests.do_decide(call.core, call.who, channel_id, request_id, approve)
    return (await _request_shaped(call, [request]))[0]


@endpoint(Params)
@shapes.camel_errors
async def approve(call: Call[Params]) -> dict[str, Any]:
    return await _decide(call, True)


@endpoint(Params)
@shapes.camel_errors
async def decline(call: Call[Params]) -> dict[str, Any]:
    return await _decide(call, False)


routes = [
    Route("/api/group-chats", list_group_chats, methods=["GET"]),
    Route("/api/group-chats", create, methods=["POST"]),
    Route("/api/group-chats", delete, methods=["DELETE"]),
    Route("/api/group-chats/{id}", update, methods=["PATCH"]),
    Route("/api/group-chats/{id}/join-requests", request_join, methods=["POST"]),
    Route("/api/group-chats/{id}/join-requests", list_join_requests, methods=["GET"]),
    Route("/api/group-chats/{id}/join-requests/{requestId}/approve", approve, methods=["POST"]),
    Route("/api/group-chats/{id}/join-requests/{requestId}/decline", decline, methods=["POST"]),
]
