"""Fetch-and-check helpers: load an entity and prove the caller may do the thing, or raise.

Every face reaches organisations and teams through these, so "who may" is decided in one place.
Unknown and invisible look the same (404) to someone outside an organisation, so ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ..store import orgs as org_store
from ..store import teams as team_store
from .errors import Conflict, Forbidden, NotFound
from .models import Organisation, Principal, Team

_RANK = {"member": 1, "admin": 2, "owner": 3}


def role_at_least(role: str | None, needed: str) -> bool:
    return role is not None and _RANK.get(role, 0) >= _RANK[needed]


async def access_org(
    conn: AsyncConnection, principal: Principal, org_id: int, need: str = "member", *, writing: bool = False
) -> tuple[Organisation, str]:
    """The organisation and the caller's role in it. Server admins act as owners everywhere."""
    org = await org_store.get_org(conn, org_id)
    role = await org_store.get_role(conn, org_id, principal.user_id) if org else None
    if principal.user.is_admin and org is not None:
        role = "owner"
    if org is None or role is None:
        raise NotFound("no such organisation")
    if not role_at_least(role, need):
        raise Forbidden(f"needs the {need} role in this organisation")
    if writing and org.archived_at is not None:
        raise Conflict("organisation is archived", code="archived")
    return org, role


async def access_team(
    conn: AsyncConnection, principal: Principal, team_id: int, need: str = "member", *, writing: bool = False
) -> tuple[Team, Organisation, str]:
    """The team, its organisation and the caller's role there; writing needs both to be unarchived."""
    team = await team_store.get_team(conn, team_id)
    if team is None:
        raise NotFound("no such team")
    try:
        org, role = await access_org(conn, principal, team.organisation_id, need, writing=writing)
    except NotFound:
        raise NotFound("no such team") from None
    if writing and team.archived_at is not None:
        raise Conflict("team is archived", code="archived")
    return team, org, role
