"""Organisations: create, rename, archive, remove, and who belongs with which role.

Roles: ``owner`` (everything, including removal and making owners), ``admin`` (members, teams, archive),
``member``. An organisation always keeps at least one owner.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import orjson

from ..store import orgs as org_store
from ..store import teams as team_store
from ..store import users as user_store
from . import events
from .access import access_org, role_at_least
from .auth import create_token_in, tell_credentials_changed
from .channel_members import leave_org_channels
from .context import Core, Tx
from .errors import BadRequest, Conflict, Forbidden, NotFound
from .files import own_image
from .models import ORG_ROLES, Membership, Organisation, Principal
from .paging import Page, PageRequest
from .users import (
    BULK_MAX,
    NewUser,
    Profile,
    access_user,
    add_user_in,
    check_email,
    check_new_user,
    item_errors,
    may_manage,
    profile_in,
    profiles_in,
)


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


async def do_create_org(core: Core, principal: Principal, name: str) -> tuple[Organisation, str]:
    name = check_name(name)
    async with core.transaction() as tx:
        org = await _insert_org(tx, name, principal.user_id)
        await org_store.set_member(tx.conn, org.id, principal.user_id, "owner", tx.now)
    return org, "owner"


async def _insert_org(tx: Tx, name: str, created_by: int) -> Organisation:
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


async def do_set_archived(core: Core, principal: Principal, org_id: int, archived: bool) -> tuple[Organisation, str]:
    async with core.transaction() as tx:
        org, role = await access_org(tx.conn, principal, org_id, "admin")
        if (org.archived_at is not None) == archived:
            raise Conflict("organisation is already " + ("archived" if archived else "not archived"), code="archived")
        org.archived_at = tx.now if archived else None
        org.updated_at = tx.now
        await org_store.update_org(tx.conn, org_id, {"archived_at": org.archived_at, "updated_at": tx.now})
    return org, role


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


def _check_may_grant(caller_role: str, target_current: str | None, target_new: str | None) -> None:
    """Admins manage members and admins; only owners touch owners (grant, demote or remove)."""
    touches_owner = "owner" in (target_current, target_new)
    if touches_owner and caller_role != "owner":
        raise Forbidden("only an owner can grant, change or remove the owner role")


async def do_set_member(core: Core, principal: Principal, org_id: int, user_id: int, role: str) -> Membership:
    """Add a user to the organisation with ``role``, or change the role of a member."""
    role = check_role(role)
    async with core.transaction() as tx:
        _, caller_role = await access_org(tx.conn, principal, org_id, "admin", writing=True)
        if await user_store.get_user(tx.conn, user_id) is None:
            raise NotFound("no such user", fields={"user_id": "not found"})
        current = await org_store.get_role(tx.conn, org_id, user_id)
        _check_may_grant(caller_role, current, role)
        if current == "owner" and role != "owner" and await org_store.count_role(tx.conn, org_id, "owner") <= 1:
            raise Conflict("an organisation needs at least one owner", code="last_owner")
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
            _check_may_grant(caller_role, current, None)
        await _detach(tx, org_id, user_id, current)


async def _detach(tx: Tx, org_id: int, user_id: int, role: str) -> None:
    """Take a member out of the organisation, its teams and its channels; the last owner stays."""
    if role == "owner" and await org_store.count_role(tx.conn, org_id, "owner") <= 1:
        raise Conflict("an organisation needs at least one owner", code="last_owner")
    await org_store.remove_member(tx.conn, org_id, user_id)
    await team_store.remove_user_from_org_teams(tx.conn, org_id, user_id)
    await leave_org_channels(tx, org_id, [user_id])
    tell_membership(tx, org_id, user_id, joined=False)


def tell_membership(tx: Tx, org_id: int, user_id: int, *, joined: bool) -> None:
    """The user's live connections re-read what they may see: public channels there appear or vanish."""
    tx.notify(user_id, events.ORGANISATION, "JOINED" if joined else "LEFT", {"organisation_id": str(org_id)})


def is_admin_role(role: str) -> bool:
    return role_at_least(role, "admin")


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
) -> tuple[Organisation, str]:
    """Change what an organisation's admins may change: name, profile fields, logo (their own image)."""
    checked = check_profile(profile or {})
    async with core.transaction() as tx:
        org, role = await access_org(tx.conn, principal, org_id, "admin", writing=True)
        changes: dict[str, Any] = {}
        if name is not None:
            org.name = changes["name"] = check_name(name)
        if checked:
            merged = {**org.profile, **checked}
            org.profile = {key: value for key, value in merged.items() if value is not None}
            changes["profile"] = orjson.dumps(org.profile).decode()
        if picture_file_id is not KEEP:
            if picture_file_id is not None:
                await own_image(tx.conn, principal, picture_file_id, "picture_file_id")
            org.picture_file_id = changes["picture_file_id"] = picture_file_id
        if changes:
            org.updated_at = changes["updated_at"] = tx.now
            await org_store.update_org(tx.conn, org_id, changes)
        return org, role


async def do_create_org_with_owner(
    core: Core, principal: Principal, name: str, owner: NewUser
) -> tuple[Organisation, Profile, str]:
    """A server admin opens an organisation for someone else: the organisation, its first owner's account
    and that owner's access token (returned once) are created together, or not at all; the server admin
    does not become a member."""
    if not principal.user.is_admin:
        raise Forbidden("only server administrators create organisations for others")
    name = check_name(name)
    with item_errors("admin"):
        check_new_user(owner)
    password_hash = await core.passwords.hash(owner.password) if owner.password is not None else None
    async with core.transaction() as tx:
        org = await _insert_org(tx, name, principal.user_id)
        with item_errors("admin"):
            user = await add_user_in(tx, core, owner, password_hash, principal.user_id, org.id, "owner")
        secret, _ = await create_token_in(tx, user.id, "organisation admin, created with the organisation")
        return org, await profile_in(tx.conn, core, user.id), secret


async def _offboard(tx: Tx, principal: Principal, user_id: int) -> None:
    if user_id == principal.user_id:
        raise Forbidden("you cannot delete your own account")
    target = await access_user(tx.conn, principal, user_id)
    theirs = await org_store.orgs_of_user(tx.conn, user_id)
    if principal.user.is_admin:
        leaving = list(theirs)
    else:
        if target.is_admin:
            raise Forbidden("only server administrators manage server administrators")
        mine = await org_store.orgs_of_user(tx.conn, principal.user_id)
        leaving = [org_id for org_id, role in theirs.items() if may_manage(mine.get(org_id), role)]
        if not leaving:
            raise Forbidden("needs the admin role in an organisation of this user (owner for an owner)")
    for org_id in leaving:
        await _detach(tx, org_id, user_id, theirs[org_id])
    if len(leaving) == len(theirs):
        await user_store.update_user(tx.conn, user_id, {"status": "archived", "updated_at": tx.now})
        await user_store.delete_user_sessions(tx.conn, user_id)
        tell_credentials_changed(tx, user_id)


async def do_offboard_users(core: Core, principal: Principal, user_ids: list[int]) -> list[Profile]:
    """Delete users the way an organisation can: remove them from every organisation where the caller
    manages them (with its teams and channels). An account left in no organisation is archived (it cannot
    sign in, its tokens stop working) but kept, so the messages it wrote keep their author. All or none."""
    if not user_ids or len(user_ids) > BULK_MAX:
        raise BadRequest.field("id", f"give 1 to {BULK_MAX} user ids")
    unique = list(dict.fromkeys(user_ids))
    bulk = len(user_ids) > 1
    async with core.transaction() as tx:
        for user_id in unique:
            with item_errors(f"id.{user_ids.index(user_id)}") if bulk else nullcontext():
                await _offboard(tx, principal, user_id)
        found = await user_store.get_users(tx.conn, unique)
        return await profiles_in(tx.conn, core, [found[user_id] for user_id in unique])
