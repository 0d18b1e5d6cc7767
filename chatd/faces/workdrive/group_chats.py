"""``/api/group-chats…``: group chats (public and private channels) and the join requests of ``byRequest`` ones.

Each view parses the request, makes one core call (``core/group_chats.py``, ``core/join_requests.py``) and
shapes the answer (docs/workdrive.md).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from starlette.routing import Route

from ...core import group_chats, join_requests
from ...core.group_chats import GroupChat, GroupChatChanges, NewGroupChat
from ...edge.params import Id, Params
from ...edge.responses import JSON, Call, endpoint
from . import shapes
from .params import CamelParams, Time, page_of, path_id, spec_names

MEMBERS_MAX = 500  # a bound on the request's lists

GroupType = Literal["CHAT_GROUP", "ROOM"]
_NAMES = spec_names({"name": "title"})


class ListParams(Params):
    cur_page: int = Field(1, ge=1)
    per_page: int = Field(10, ge=1)
    group_type: GroupType | None = None
    my_group_chats: bool = False
    include_participants: bool = False
    time: Time | None = None


class MemberParams(CamelParams):
    id: Id
    is_admin: bool = False


class CreateParams(CamelParams):
    title: str
    is_private: bool = False
    by_request: bool = False
    description: str | None = None
    members: list[MemberParams] = Field(default_factory=list, max_length=MEMBERS_MAX)
    file_id: Id | None = None
    group_type: GroupType = "CHAT_GROUP"
    category: str | None = None
    organization_id: Id | None = None


class UpdateParams(CamelParams):
    title: str | None = None
    description: str | None = None
    is_private: bool | None = None
    by_request: bool | None = None
    file_id: Id | None = None
    category: str | None = None
    new_admins: list[Id] = Field(default_factory=list, max_length=MEMBERS_MAX)
    removed_admins: list[Id] = Field(default_factory=list, max_length=MEMBERS_MAX)
    add_members: list[Id] = Field(default_factory=list, max_length=MEMBERS_MAX)
    remove_members: list[Id] = Field(default_factory=list, max_length=MEMBERS_MAX)


class DeleteParams(Params):
    id: list[Id]


class PageParams(Params):
    cur_page: int = Field(1, ge=1)
    per_page: int = Field(10, ge=1)


def _shaped(chat: GroupChat) -> dict[str, Any]:
    return shapes.conversation(chat.view, chat.members, chat.people)


@endpoint(ListParams, fields=_NAMES)
async def list_group_chats(call: Call[ListParams]) -> dict[str, Any]:
    """Group chats the caller may read (``my_group_chats``: those they belong to), by title."""
    p = call.params
    found = await group_chats.list_group_chats(
        call.core, call.who, page_of(call), group_type=p.group_type, created_until=p.time,
        member_only=p.my_group_chats, with_members=p.include_participants,
    )
    return shapes.page("conversations", found, _shaped)


@endpoint(CreateParams, fields=_NAMES)
async def create(call: Call[CreateParams]) -> dict[str, Any]:
    p = call.params
    settings: dict[str, Any] = {
        "description": p.description or "",
        "group_type": p.group_type,
        "category": p.category or "",
        "by_request": p.by_request,
    }
    if p.file_id is not None:
        settings["picture_file_id"] = p.file_id
    new = NewGroupChat(
        title=p.title, is_private=p.is_private, admins=[m.id for m in p.members if m.is_admin],
        members=[m.id for m in p.members if not m.is_admin], organisation_id=p.organization_id, settings=settings,
    )
    return _shaped(await group_chats.do_create_group_chat(call.core, call.who, new))


def _settings(p: UpdateParams) -> dict[str, Any]:
    """Channel settings to change; a field sent as ``null`` is cleared."""
    given = p.model_fields_set
    settings: dict[str, Any] = {}
    if "description" in given:
        settings["description"] = p.description or ""
    if "category" in given:
        settings["category"] = p.category or ""
    if p.is_private is not None:
        settings["type"] = "private" if p.is_private else "public"
    if p.by_request is not None:
        settings["by_request"] = p.by_request
    if "file_id" in given:
        settings["picture_file_id"] = p.file_id
    return settings


@endpoint(UpdateParams, fields=_NAMES)
async def update(call: Call[UpdateParams]) -> dict[str, Any]:
    """Settings, then ``addMembers``, ``newAdmins``, ``removedAdmins``, ``removeMembers``: all or nothing."""
    p = call.params
    changes = GroupChatChanges(
        title=p.title, settings=_settings(p), add_members=p.add_members, new_admins=p.new_admins,
        removed_admins=p.removed_admins, remove_members=p.remove_members,
    )
    return _shaped(await group_chats.do_update_group_chat(call.core, call.who, path_id(call), changes))


@endpoint(DeleteParams, fields=_NAMES)
async def delete(call: Call[DeleteParams]) -> dict[str, Any]:
    """Remove every group chat named, or none: each needs its admin (or an organisation admin)."""
    deleted = await group_chats.do_remove_group_chats(call.core, call.who, call.params.id)
    return {"deleted": [str(channel_id) for channel_id in deleted]}


# Join requests -----------------------------------------------------------------------------------------


@endpoint(Params, fields=_NAMES)
async def request_join(call: Call[Params]) -> JSON:
    """Ask to join a ``byRequest`` group chat: 201 with the new request, 200 with a pending one."""
    request, created, people = await join_requests.do_request_join(call.core, call.who, path_id(call))
    return JSON(shapes.join_request(request, people), status_code=201 if created else 200)


@endpoint(PageParams, fields=_NAMES)
async def list_join_requests(call: Call[PageParams]) -> dict[str, Any]:
    found, people = await join_requests.list_pending(call.core, call.who, path_id(call), page_of(call))
    return shapes.page("joinRequests", found, lambda request: shapes.join_request(request, people))


async def _decide(call: Call[Params], approve: bool) -> dict[str, Any]:
    channel_id, request_id = path_id(call), path_id(call, "requestId")
    request, people = await join_requests.do_decide(call.core, call.who, channel_id, request_id, approve)
    return shapes.join_request(request, people)


@endpoint(Params, fields=_NAMES)
async def approve(call: Call[Params]) -> dict[str, Any]:
    return await _decide(call, True)


@endpoint(Params, fields=_NAMES)
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
