"""``/api/organization…``: a server admin opens an organisation with its admin; its admins rename it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from starlette.routing import Route

from ...core import orgs
from ...core.auth import do_create_token
from ...core.errors import BadRequest
from ...core.users import NewUser
from ..params import Id
from ..responses import Call, endpoint
from . import shapes
from .users import CamelParams


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
    legal_name: Any = None
    websites: Any = None
    address: Any = None
    email: Any = None
    phone: Any = None
    description: Any = None
    industry: Any = None


_UNSTORED = ("file_id", "legal_name", "websites", "address", "email", "phone", "description", "industry")


def _refuse_unstored(params: BaseModel) -> None:
    """chatd keeps an organisation's name only: a value it would drop is refused, not silently lost."""
    given = [name for name in _UNSTORED if getattr(params, name) is not None]
    if given:
        fields = {shapes.camel(name): "not stored by this server; send null or leave it out" for name in given}
        summary = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
        raise BadRequest(summary, code="unsupported", fields=fields)


@endpoint(CreateParams)
@shapes.camel_errors
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
    org, admin = await orgs.do_create_org_with_owner(call.core, call.who, p.name, owner)
    secret, _ = await do_create_token(call.core, admin.user.id, "organisation admin, created with the organisation")
    return {**shapes.organization(org), "authMethod": p.auth.method, "admin": shapes.user(admin), "accessToken": secret}


@endpoint(UpdateParams)
@shapes.camel_errors
async def update(call: Call[UpdateParams]) -> dict[str, Any]:
    _refuse_unstored(call.params)
    org, _ = await orgs.do_update_org(call.core, call.who, shapes.path_id(call), call.params.name)
    return shapes.organization(org)


routes = [
    Route("/api/organization", create, methods=["POST"]),
    Route("/api/organization/{id}", update, methods=["PATCH"]),
]
