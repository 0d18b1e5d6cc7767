"""``/organisation/*``: the seed's endpoints, plus unarchive and member management (see docs/api.md)."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from ...core import archiving, orgs
from ...core.paging import PageRequest
from ...edge.params import Id, Params
from ...edge.responses import Call, endpoint
from ...edge import shapes


class EditParams(Params):
    id: Id | None = None
    name: str


class IdParams(Params):
    id: Id


class SearchParams(Params):
    query: str = ""
    archived: bool | None = None
    page: int | None = None
    per_page: int | None = None


class MembersParams(Params):
    id: Id
    page: int | None = None
    per_page: int | None = None


class MemberParams(Params):
    id: Id
    user_id: Id
    role: str = "member"


class MemberRemoveParams(Params):
    id: Id
    user_id: Id


def _page(call: Call[Any]) -> PageRequest:
    return PageRequest.of(call.params.page, call.params.per_page, call.core.settings.limits.page_size_max)


@endpoint(EditParams)
async def edit(call: Call[EditParams]) -> dict[str, Any]:
    """Create (no ``id``; the caller becomes owner) or rename."""
    if call.params.id is None:
        return shapes.organisation(*await orgs.do_create_org(call.core, call.who, call.params.name))
    return shapes.organisation(*await orgs.do_rename_org(call.core, call.who, call.params.id, call.params.name))


@endpoint(IdParams)
async def remove(call: Call[IdParams]) -> dict[str, Any]:
    await orgs.do_remove_org(call.core, call.who, call.params.id)
    return {"ok": True}


@endpoint(IdParams)
async def read(call: Call[IdParams]) -> dict[str, Any]:
    return shapes.organisation(*await orgs.read_org(call.core, call.who, call.params.id))


@endpoint(SearchParams)
async def search(call: Call[SearchParams]) -> dict[str, Any]:
    found = await orgs.search_orgs(call.core, call.who, call.params.query, call.params.archived, _page(call))
    return shapes.page(found, lambda item: shapes.organisation(*item))


@endpoint(IdParams)
async def archive(call: Call[IdParams]) -> dict[str, Any]:
    found = await archiving.do_set_archived(call.core, call.who, "organisation", call.params.id, True)
    return shapes.organisation(*found)


@endpoint(IdParams)
async def unarchive(call: Call[IdParams]) -> dict[str, Any]:
    found = await archiving.do_set_archived(call.core, call.who, "organisation", call.params.id, False)
    return shapes.organisation(*found)


@endpoint(MembersParams)
async def members(call: Call[MembersParams]) -> dict[str, Any]:
    return shapes.page(await orgs.list_members(call.core, call.who, call.params.id, _page(call)), shapes.membership)


@endpoint(MemberParams)
async def member_add(call: Call[MemberParams]) -> dict[str, Any]:
    """Add a member with a role, or set the role of an existing member."""
    p = call.params
    return shapes.membership(await orgs.do_set_member(call.core, call.who, p.id, p.user_id, p.role))


@endpoint(MemberRemoveParams)
async def member_remove(call: Call[MemberRemoveParams]) -> dict[str, Any]:
    await orgs.do_remove_member(call.core, call.who, call.params.id, call.params.user_id)
    return {"ok": True}


routes = [
    Route("/organisation/edit", edit, methods=["POST"]),
    Route("/organisation/remove", remove, methods=["DELETE"]),
    Route("/organisation/read", read, methods=["GET"]),
    Route("/organisation/search", search, methods=["GET"]),
    Route("/organisation/archive", archive, methods=["POST"]),
    Route("/organisation/unarchive", unarchive, methods=["POST"]),
    Route("/organisation/members", members, methods=["GET"]),
    Route("/organisation/members/add", member_add, methods=["POST"]),
    Route("/organisation/members/role", member_add, methods=["POST"]),
    Route("/organisation/members/remove", member_remove, methods=["DELETE", "POST"]),
]
