"""``/channel/*``: the seed's endpoints plus unarchive, membership (join, leave, members …), move and merge."""

from __future__ import annotations

from typing import Any, Literal

from starlette.routing import Route

from ...core import archiving, channel_members, channel_moves, channels
from ...domain.errors import BadRequest
from ...domain.models import Membership
from ...core.paging import PageRequest
from ...edge import shapes
from ...edge.params import Id, Params
from ...edge.responses import Call, endpoint
from ...edge import shape_types as out
from ...edge import shapes


class EditParams(Params):
    id: Id | None = None
    name: str | None = None
    topic: str | None = None
    type: str = "public"
    team_id: Id | None = None
    organisation_id: Id | None = None
    members: list[Id] | None = None


class IdParams(Params):
    id: Id


class SearchParams(Params):
    query: str = ""
    team_id: Id | None = None
    organisation_id: Id | None = None
    type: str | None = None
    archived: bool | None = None
    member: bool = False
    page: int | None = None
    per_page: int | None = None


class MembersParams(Params):
    id: Id
    user_ids: list[Id]


class RoleParams(Params):
    id: Id
    user_id: Id
    role: Literal["owner", "member"]


class MoveParams(Params):
    id: Id
    team_id: Id | None = None
    organisation_id: Id | None = None


class MergeParams(Params):
    source: Id
    destination: Id


@endpoint(EditParams)
async def edit(call: Call[EditParams]) -> out.Channel:
    """Create (no ``id``) or rename / change the topic (with ``id``; ``type`` switches public and private; a
    different ``organisation_id``/``team_id`` is a move, refused here: ``/channel/move``)."""
    p = call.params
    if p.id is None:
        view = await channels.do_create_channel(
            call.core, call.who, name=p.name or "", topic=p.topic or "", type=p.type,
            team_id=p.team_id, organisation_id=p.organisation_id, members=p.members,
        )
    else:
        if p.members is not None:
            raise BadRequest.field("members", "use /channel/members/add and /channel/members/remove to change members")
        view = await channels.do_update_channel(
            call.core, call.who, p.id, name=p.name, topic=p.topic,
            extra={"type": p.type} if "type" in p.model_fields_set else None,
            organisation_id=p.organisation_id, team_id=p.team_id,
        )
    return shapes.channel(view)


@endpoint(IdParams)
async def remove(call: Call[IdParams]) -> out.Ok:
    await channels.do_remove_channel(call.core, call.who, call.params.id)
    return {"ok": True}


@endpoint(IdParams)
async def read(call: Call[IdParams]) -> out.Channel:
    return shapes.channel(await channels.read_channel(call.core, call.who, call.params.id))


@endpoint(SearchParams)
async def search(call: Call[SearchParams]) -> out.Paged[out.Channel]:
    p = call.params
    page = PageRequest.of(p.page, p.per_page, call.core.settings.limits.page_size_max)
    found = await channels.search_channels(
        call.core, call.who, query=p.query, team_id=p.team_id, organisation_id=p.organisation_id, type=p.type,
        archived=p.archived, member_only=p.member, page=page,
    )
    return shapes.page(found, shapes.channel)


@endpoint(IdParams)
async def archive(call: Call[IdParams]) -> out.Channel:
    return shapes.channel(await archiving.do_set_archived(call.core, call.who, "channel", call.params.id, True))


@endpoint(IdParams)
async def unarchive(call: Call[IdParams]) -> out.Channel:
    return shapes.channel(await archiving.do_set_archived(call.core, call.who, "channel", call.params.id, False))


def _members(found: list[Membership]) -> out.Members:
    return {"members": [shapes.membership(m) for m in found]}


@endpoint(IdParams)
async def join(call: Call[IdParams]) -> out.Members:
    return _members(await channel_members.do_join(call.core, call.who, call.params.id))


@endpoint(IdParams)
async def leave(call: Call[IdParams]) -> out.Ok:
    await channel_members.do_leave(call.core, call.who, call.params.id)
    return {"ok": True}


@endpoint(IdParams)
async def members(call: Call[IdParams]) -> out.Members:
    return _members(await channel_members.list_members(call.core, call.who, call.params.id))


@endpoint(MembersParams)
async def members_add(call: Call[MembersParams]) -> out.Members:
    return _members(await channel_members.do_add_members(call.core, call.who, call.params.id, call.params.user_ids))


@endpoint(MembersParams)
async def members_remove(call: Call[MembersParams]) -> out.Members:
    return _members(await channel_members.do_remove_members(call.core, call.who, call.params.id, call.params.user_ids))


@endpoint(RoleParams)
async def members_role(call: Call[RoleParams]) -> out.Members:
    p = call.params
    return _members(await channel_members.do_set_role(call.core, call.who, p.id, p.user_id, p.role))


@endpoint(MoveParams)
async def move(call: Call[MoveParams]) -> out.Channel:
    p = call.params
    view = await channel_moves.do_move_channel(call.core, call.who, p.id, team_id=p.team_id, organisation_id=p.organisation_id)
    return shapes.channel(view)


@endpoint(MergeParams)
async def merge(call: Call[MergeParams]) -> out.Channel:
    p = call.params
    return shapes.channel(await channel_moves.do_merge_channels(call.core, call.who, p.source, p.destination))


routes = [
    Route("/channel/edit", edit, methods=["POST"]),
    Route("/channel/remove", remove, methods=["DELETE"]),
    Route("/channel/read", read, methods=["GET"]),
    Route("/channel/search", search, methods=["GET"]),
    Route("/channel/archive", archive, methods=["POST"]),
    Route("/channel/unarchive", unarchive, methods=["POST"]),
    Route("/channel/join", join, methods=["POST"]),
    Route("/channel/leave", leave, methods=["POST"]),
    Route("/channel/members", members, methods=["GET"]),
    Route("/channel/members/add", members_add, methods=["POST"]),
    Route("/channel/members/remove", members_remove, methods=["POST"]),
    Route("/channel/members/role", members_role, methods=["POST"]),
    Route("/channel/move", move, methods=["POST"]),
    Route("/channel/merge", merge, methods=["POST"]),
]
