"""``/api/organization…``: a server admin opens an organisation with its admin; its admins rename it."""

from __future__ import annotations

from typing import Any, Literal

from starlette.routing import Route

from ...core import directory, orgs
from ...core.directory import NewUser
from ...edge.params import Id
from ...edge.responses import Call, endpoint
from . import shapes
from .params import CamelParams, path_id, spec_names


class AdminParams(CamelParams):
    email: str
    first_name: str = ""
    last_name: str = ""
    user_name: str | None = None
    password: str | None = None


class AuthParams(CamelParams):
    method: Literal["internal"] = "internal"


class CreateParams(CamelParams):
    name: str
    admin: AdminParams
    auth: AuthParams = AuthParams()


class UpdateParams(CamelParams):
    name: str | None = None
    file_id: Id | None = None
    legal_name: str | None = None
    websites: list[str] | None = None
    address: dict[str, Any] | None = None
    email: str | None = None
    phone: str | None = None
    description: str | None = None
    industry: str | None = None


PROFILE = ("legal_name", "websites", "address", "email", "phone", "description", "industry")


@endpoint(CreateParams, fields=spec_names())
async def create(call: Call[CreateParams]) -> dict[str, Any]:
    """The spec's superadmin call; returns the organisation and an access token for its admin."""
    p = call.params
    owner = NewUser(
        email=p.admin.email,
        first_name=p.admin.first_name,
        last_name=p.admin.last_name,
        username=p.admin.user_name,
        password=p.admin.password,
    )
    org, admin, secret = await directory.do_create_org_with_owner(call.core, call.who, p.name, owner)
    return {**shapes.organization(org), "authMethod": p.auth.method, "admin": shapes.user(admin), "accessToken": secret}


@endpoint(UpdateParams, fields=spec_names())
async def update(call: Call[UpdateParams]) -> dict[str, Any]:
    """Only what is sent changes; ``null`` clears a profile field (or removes the logo, for ``fileId``)."""
    p = call.params
    sent = p.model_fields_set
    profile = {name: getattr(p, name) for name in PROFILE if name in sent}
    logo = p.file_id if "file_id" in sent else orgs.KEEP
    org, logo_file = await orgs.do_update_org(call.core, call.who, path_id(call), p.name, profile, logo)
    return shapes.organization(org, logo_file)


routes = [
    Route("/api/organization", create, methods=["POST"]),
    Route("/api/organization/{id}", update, methods=["PATCH"]),
]
