"""``/api/users…``: the organisation directory, adding, editing and deleting users (docs/workdrive.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from starlette.routing import Route

from ...core import directory
from ...core.paging import PageRequest
from ...edge.params import Id, Params
from ...edge.responses import Call, endpoint
from . import shapes
from .params import CamelParams, path_id, spec_names


class ListParams(Params):
    cur_page: int = Field(1, ge=1)
    per_page: int = Field(10, ge=1)
    department: str | None = None
    location: str | None = None


class NewUserParams(CamelParams):
    email: str
    first_name: str = ""
    last_name: str = ""
    user_name: str | None = None
    password: str | None = None
    department: str | None = None
    location: str | None = None
    phone: str | None = None
    bio: str | None = None
    designation: str | None = None
    is_department_head: bool | None = None
    is_expert: bool | None = None
    security_group: str | None = None
    reports_to: Id | None = None
    skill: list[str] | None = None
    default_visibility: Literal["public", "restricted"] | None = None
    external_user_id: str | None = None
    add_additional_teams: list[str] | None = None
    add_additional_locations: list[str] | None = None


class AddParams(NewUserParams):
    organization_id: Id | None = None


class BulkCreateParams(CamelParams):
    data: list[NewUserParams]
    organization_id: Id | None = None


class UpdateParams(CamelParams):
    first_name: str | None = None
    last_name: str | None = None
    status: Literal["ACTIVE", "ARCHIVE", "BLOCKED"] | None = None
    availability: Literal["ACTIVE", "AWAY"] | None = None
    file_id: Id | None = None
    cover_file_id: Id | None = None
    reports_to: Id | None = None
    phone: str | None = None
    bio: str | None = None
    designation: str | None = None
    is_department_head: bool | None = None
    is_expert: bool | None = None
    department: str | None = None
    location: str | None = None
    add_additional_teams: list[str] | None = None
    remove_additional_teams: list[str] | None = None
    add_additional_locations: list[str] | None = None
    remove_additional_locations: list[str] | None = None


class BulkDeleteParams(Params):
    id: list[Id]


# WorkDrive parameter → core field, for everything that is not a plain rename.
_PROFILE_OF_NEW = {
    "phone": "phone",
    "bio": "bio",
    "designation": "designation",
    "is_department_head": "is_department_head",
    "is_expert": "is_expert",
    "security_group": "security_group",
    "reports_to": "reports_to",
    "skill": "skills",
    "default_visibility": "default_visibility",
    "external_user_id": "external_user_id",
    "add_additional_teams": "additional_teams",
    "add_additional_locations": "additional_locations",
}
_CHANGES = {
    "first_name": "first_name",
    "last_name": "last_name",
    "status": "status",
    "availability": "availability",
    "file_id": "picture_file_id",
    "cover_file_id": "cover_file_id",
    "reports_to": "reports_to",
    "phone": "phone",
    "bio": "bio",
    "designation": "designation",
    "is_department_head": "is_department_head",
    "is_expert": "is_expert",
    "department": "department",
    "location": "location",
}
_STATUS_IN = {spec: core for core, spec in shapes.STATUS.items()}
_AVAILABILITY_IN = {spec: core for core, spec in shapes.AVAILABILITY.items()}


def _new_user(p: NewUserParams) -> directory.NewUser:
    profile = {core: getattr(p, name) for name, core in _PROFILE_OF_NEW.items() if getattr(p, name) is not None}
    return directory.NewUser(
        email=p.email,
        first_name=p.first_name,
        last_name=p.last_name,
        username=p.user_name,
        password=p.password,
        department=p.department or "",
        location=p.location or "",
        profile=profile,
    )


def _changes(p: UpdateParams) -> dict[str, Any]:
    changes = {_CHANGES[name]: getattr(p, name) for name in p.model_fields_set if name in _CHANGES}
    if "status" in changes:
        changes["status"] = _STATUS_IN.get(changes["status"])
    if "availability" in changes:
        changes["availability"] = _AVAILABILITY_IN.get(changes["availability"])
    return changes


def _given(**lists: list[str] | None) -> dict[str, list[str]]:
    return {name: values for name, values in lists.items() if values}


@endpoint(ListParams, fields=spec_names())
async def list_users(call: Call[ListParams]) -> dict[str, Any]:
    """Everyone sharing an organisation with the caller; server admins see every account."""
    p = call.params
    page = PageRequest.of(p.cur_page, p.per_page, call.core.settings.limits.page_size_max)
    found = await directory.list_directory(call.core, call.who, page, p.department, p.location)
    return shapes.page("users", found, shapes.user)


@endpoint(AddParams, fields=spec_names())
async def add(call: Call[AddParams]) -> dict[str, Any]:
    created = await directory.do_add_users(call.core, call.who, call.params.organization_id, [_new_user(call.params)])
    return shapes.user(created[0])


@endpoint(BulkCreateParams, fields=spec_names())
async def bulk_create(call: Call[BulkCreateParams]) -> list[dict[str, Any]]:
    new_users = [_new_user(item) for item in call.params.data]
    created = await directory.do_add_users(call.core, call.who, call.params.organization_id, new_users)
    return [shapes.user(profile) for profile in created]


@endpoint(UpdateParams, fields=spec_names())
async def update(call: Call[UpdateParams]) -> dict[str, Any]:
    p = call.params
    add = _given(additional_teams=p.add_additional_teams, additional_locations=p.add_additional_locations)
    remove = _given(additional_teams=p.remove_additional_teams, additional_locations=p.remove_additional_locations)
    profile = await directory.do_update_user(call.core, call.who, path_id(call), _changes(p), add, remove)
    return shapes.user(profile)


@endpoint(Params, fields=spec_names())
async def delete(call: Call[Params]) -> dict[str, Any]:
    """Remove from the caller's organisations; archived when left in none (see docs/workdrive.md)."""
    removed = await directory.do_offboard_users(call.core, call.who, [path_id(call)])
    return shapes.user(removed[0])


@endpoint(BulkDeleteParams, fields=spec_names())
async def bulk_delete(call: Call[BulkDeleteParams]) -> dict[str, Any]:
    removed = await directory.do_offboard_users(call.core, call.who, call.params.id)
    return {"users": [shapes.user(profile) for profile in removed]}


routes = [
    Route("/api/users", list_users, methods=["GET"]),
    Route("/api/users/add", add, methods=["POST"]),
    Route("/api/users/bulk-create", bulk_create, methods=["POST"]),
    Route("/api/users/bulk-delete", bulk_delete, methods=["DELETE"]),
    Route("/api/users/{id}", update, methods=["PATCH"]),
    Route("/api/users/{id}", delete, methods=["DELETE"]),
]
