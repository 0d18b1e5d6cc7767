"""Organisations: create, rename, profile and logo, remove, and who belongs with which role.

Roles: ``owner`` (everything, including removal and making owners), ``admin`` (members, teams, archive),
``member``. An organisation always keeps at least one owner. Archiving is ``archiving.py``'s; opening an
organisation with its first owner's account, and removing people from organisations, ``directory.py``'s.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events
from ..domain.codes import Code
from ..domain.errors import BadRequest, Conflict, NotFound
from ..domain.models import ORG_ROLES, Membership, Organisation, Principal, StoredFile
from ..store import files as file_store
from ..store import orgs as org_store
from ..store import teams as team_store
from ..store import users as user_store
from .access import access_org, check_may_grant
from .channel_members import leave_org_channels
from .context import Core, Tx
from .files import picture_file
from .paging import Page, PageRequest
from .users import check_email


def check_name(name: str, field: str = "name", max_length: int = 128) -> str:
    name = name.strip()
    if not name:
        raise BadRequest.field(field, "must not be empty")
    if len(name) > max_length:
        raise BadRequest.field(field, f"must be at most {max_length} characters")
    return name


def check_role(role: str) -> str:
    if role not in ORG_ROLES:
        raise BadRequest.field("role", "must be one of " + ", ".join(ORG_ROLES))
    return role


CHOICES_SHOWN = 20


async def org_for_new(conn: AsyncConnection, principal: Principal, org_id: int | None) -> int:
    """The organisation a new team, channel or group chat goes to: the one named, else the caller's only one.
    Someone in several organisations (or in none) must name one: a 400 naming ``organisation_id`` that lists
    the choices, ids and names. Both faces ask this, so the rule is the same everywhere."""
    if org_id is not None:
        return org_id
    mine, total = await org_store.search_orgs(conn, principal.user_id, "", None, 0, CHOICES_SHOWN)
    if total == 1:
        return mine[0][0].id
    if total == 0:
        raise BadRequest.field("organisation_id", "required: you belong to no organisation")
    listed = ", ".join(f"{org.id} ({org.name})" for org, _ in mine)
    if total > len(mine):
        listed += f" and {total - len(mine)} more"
    raise BadRequest.field("organisation_id", f"required: you belong to several organisations: {listed}")


async def do_create_org(core: Core, principal: Principal, name: str) -> tuple[Organisation, str]:
    name = check_name(name)
    async with core.transaction() as tx:
        org = await insert_org_in(tx, name, principal.user_id)
        await org_store.set_member(tx.conn, org.id, principal.user_id, "owner", tx.now)
    return org, "owner"


async def insert_org_in(tx: Tx, name: str, created_by: int) -> Organisation:
    org = Organisation(
        id=tx.new_id(), name=name, created_by=created_by, created_at=tx.now, updated_at=tx.now, archived_at=None
    )
    await org_store.insert_org(
        tx.conn, {"id": org.id, "name": name, "created_by": created_by, "created_at": tx.now, "updated_at": tx.now}
    )
    return org


async def do_rename_org(core: Core, principal: Principal, org_id: int, name: str) -> tuple[Organisation, str]:
    name = check_name(name)
    async with core.transaction() as tx:
        org, role = await access_org(tx.conn, principal, org_id, "admin", writing=True)
        await org_store.update_org(tx.conn, org_id, {"name": name, "updated_at": tx.now})
        org.name, org.updated_at = name, tx.now
    return org, role


async def read_org(core: Core, principal: Principal, org_id: int) -> tuple[Organisation, str]:
    async with core.reading() as conn:
        return await access_org(conn, principal, org_id)


async def search_orgs(
    core: Core, principal: Principal, query: str, archived: bool | None, page: PageRequest
) -> Page[tuple[Organisation, str]]:
    async with core.reading() as conn:
        items, total = await org_store.search_orgs(
            conn, principal.user_id, query.strip(), archived, page.offset, page.per_page
        )
    return Page(items, total, page)


async def do_remove_org(core: Core, principal: Principal, org_id: int) -> None:
    """Soft removal: the organisation, its teams and channels vanish for everyone (404)."""
    async with core.transaction() as tx:
        await access_org(tx.conn, principal, org_id, "owner")
        await org_store.update_org(tx.conn, org_id, {"removed_at": tx.now, "updated_at": tx.now})


async def list_members(core: Core, principal: Principal, org_id: int, page: PageRequest) -> Page[Membership]:
    async with core.reading() as conn:
        await access_org(conn, principal, org_id)
        items, total = await org_store.list_members(conn, org_id, page.offset, page.per_page)
    return Page(items, total, page)


async def do_set_member(core: Core, principal: Principal, org_id: int, user_id: int, role: str) -> Membership:
    """Add a user to the organisation with ``role``, or change the role of a member."""
    role = check_role(role)
    async with core.transaction() as tx:
        _, caller_role = await access_org(tx.conn, principal, org_id, "admin", writing=True)
        if await user_store.get_user(tx.conn, user_id) is None:
            raise NotFound("no such user", fields={"user_id": "not found"})
        current = await org_store.get_role(tx.conn, org_id, user_id)
        check_may_grant(caller_role, current, role)
        if current == "owner" and role != "owner" and await org_store.count_role(tx.conn, org_id, "owner") <= 1:
            raise Conflict("an organisation needs at least one owner", code=Code.LAST_OWNER)
        await org_store.set_member(tx.conn, org_id, user_id, role, tx.now)
        if current is None:
            tell_membership(tx, org_id, user_id, joined=True)
        return Membership(user_id=user_id, role=role, joined_at=tx.now)


async def do_remove_member(core: Core, principal: Principal, org_id: int, user_id: int) -> None:
    """Remove a member (admins), or leave (anyone, for themselves). They leave its teams too."""
    async with core.transaction() as tx:
        leaving = user_id == principal.user_id
        _, caller_role = await access_org(tx.conn, principal, org_id, "member" if leaving else "admin", writing=True)
        current = await org_store.get_role(tx.conn, org_id, user_id)
        if current is None:
            raise NotFound("not a member of this organisation", fields={"user_id": "not a member"})
        if not leaving:
            check_may_grant(caller_role, current, None)
        await detach_member(tx, org_id, user_id, current)


async def detach_member(tx: Tx, org_id: int, user_id: int, role: str) -> None:
    """Take a member out of the organisation, its teams and its channels; the last owner stays."""
    if role == "owner" and await org_store.count_role(tx.conn, org_id, "owner") <= 1:
        raise Conflict("an organisation needs at least one owner", code=Code.LAST_OWNER)
    await org_store.remove_member(tx.conn, org_id, user_id)
    await team_store.remove_user_from_org_teams(tx.conn, org_id, user_id)
    await leave_org_channels(tx, org_id, [user_id])
    tell_membership(tx, org_id, user_id, joined=False)


def tell_membership(tx: Tx, org_id: int, user_id: int, *, joined: bool) -> None:
    """The user's live connections re-read what they may see: public channels there appear or vanish."""
    tx.notify(user_id, events.ORGANISATION, "JOINED" if joined else "LEFT", {"organisation_id": str(org_id)})


PROFILE_TEXT = {"legal_name": 256, "phone": 64, "description": 4000, "industry": 128, "email": 254}
ADDRESS_KEYS = ("street1", "street2", "city", "state", "zip")
WEBSITES_MAX = 20
KEEP = object()  # "leave the logo as it is" (None removes it)


def check_profile(changes: dict[str, Any]) -> dict[str, Any]:
    """An organisation's self-description: short texts, a list of websites, a postal address. ``None`` clears."""
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None:
            checked[name] = None
        elif name in PROFILE_TEXT:
            text = check_name(str(value), name, PROFILE_TEXT[name]) if str(value).strip() else ""
            checked[name] = check_email(text) if name == "email" and text else text
        elif name == "websites":
            if not isinstance(value, list) or len(value) > WEBSITES_MAX:
                raise BadRequest.field(name, f"a list of at most {WEBSITES_MAX} addresses")
            checked[name] = [check_name(str(site), f"{name}.{i}", 2048) for i, site in enumerate(value)]
        elif name == "address":
            if not isinstance(value, dict) or set(value) - set(ADDRESS_KEYS):
                raise BadRequest.field(name, "an object with " + ", ".join(ADDRESS_KEYS))
            checked[name] = {key: str(value[key]).strip()[:256] for key in ADDRESS_KEYS if value.get(key) is not None}
        else:
            raise BadRequest.field(name, "not an organisation profile field")
    return checked


async def do_update_org(
    core: Core,
    principal: Principal,
    org_id: int,
    name: str | None,
    profile: dict[str, Any] | None = None,
    picture_file_id: Any = KEEP,
) -> tuple[Organisation, StoredFile | None]:
    """Change what an organisation's admins may change: name, profile fields, logo (``files.picture_file``).
    Returns the organisation and its logo's file."""
    checked = check_profile(profile or {})
    async with core.transaction() as tx:
        org, _ = await access_org(tx.conn, principal, org_id, "admin", writing=True)
        changes: dict[str, Any] = {}
        if name is not None:
            org.name = changes["name"] = check_name(name)
        if checked:
            merged = {**org.profile, **checked}
            org.profile = {key: value for key, value in merged.items() if value is not None}
            changes["profile"] = orjson.dumps(org.profile).decode()
        if picture_file_id is not KEEP:
            if picture_file_id is not None:
                picture_file_id = (await picture_file(tx, principal, picture_file_id, "picture_file_id")).id
            org.picture_file_id = changes["picture_file_id"] = picture_file_id
        if changes:
            org.updated_at = changes["updated_at"] = tx.now
            await org_store.update_org(tx.conn, org_id, changes)
        logo = None if org.picture_file_id is None else await file_store.get_file(tx.conn, org.picture_file_id)
        return org, logo
