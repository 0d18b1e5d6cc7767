"""``/team/*``: the seed's endpoints (its "Organisation ID" labels are team ids), plus unarchive."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from ...core import archiving, teams
from ...core.paging import PageRequest
from ...domain.errors import BadRequest
from ...edge import shapes
from ...edge.params import Id, Params
from ...edge.responses import Call, endpoint
from ...edge import shape_types as out
from ...edge import shapes


class EditParams(Params):
    id: Id | None = None
    organisation_id: Id | None = None
    name: str | None = None
    members: list[Id] | None = None


class IdParams(Params):
    id: Id


class SearchParams(Params):
    query: str = ""
    organisation_id: Id | None = None
    archived: bool | None = None
    page: int | None = None
    per_page: int | None = None


class MoveParams(Params):
    id: Id
    organisation_id: Id


@endpoint(EditParams)
async def edit(call: Call[EditParams]) -> out.Team:
    """Create (``organisation_id`` and ``name``) or update (``id``); ``members`` replaces the member set."""
    p = call.params
    if p.id is None:
        if p.name is None:
            raise BadRequest.field("name", "required")
        team, members = await teams.do_create_team(call.core, call.who, p.organisation_id, p.name, p.members)
    else:
        team, members = await teams.do_update_team(call.core, call.who, p.id, p.name, p.members, p.organisation_id)
    return shapes.team(team, members)


@endpoint(IdParams)
async def remove(call: Call[IdParams]) -> out.Ok:
    await teams.do_remove_team(call.core, call.who, call.params.id)
    return {"ok": True}


@endpoint(IdParams)
async def read(call: Call[IdParams]) -> out.Team:
    return shapes.team(*await teams.read_team(call.core, call.who, call.params.id))


@endpoint(SearchParams)
async def search(call: Call[SearchParams]) -> out.Paged[out.Team]:
    p = call.params
    page = PageRequest.of(p.page, p.per_page, call.core.settings.limits.page_size_max)
    found = await teams.search_teams(call.core, call.who, p.query, p.organisation_id, p.archived, page)
    return shapes.page(found, shapes.team)


@endpoint(IdParams)
async def archive(call: Call[IdParams]) -> out.Team:
    return shapes.team(await archiving.do_set_archived(call.core, call.who, "team", call.params.id, True))


@endpoint(IdParams)
async def unarchive(call: Call[IdParams]) -> out.Team:
    return shapes.team(await archiving.do_set_archived(call.core, call.who, "team", call.params.id, False))


@endpoint(MoveParams)
async def move(call: Call[MoveParams]) -> out.Team:
    return shapes.team(*await teams.do_move_team(call.core, call.who, call.params.id, call.params.organisation_id))


routes = [
    Route("/team/edit", edit, methods=["POST"]),
    Route("/team/remove", remove, methods=["DELETE"]),
    Route("/team/read", read, methods=["GET"]),
    Route("/team/search", search, methods=["GET"]),
    Route("/team/archive", archive, methods=["POST"]),
    Route("/team/unarchive", unarchive, methods=["POST"]),
    Route("/team/move", move, methods=["POST"]),
]
