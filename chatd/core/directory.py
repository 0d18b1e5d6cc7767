"""The organisation directory: the people of one's organisations, as the WorkDrive face manages them.

Organisation admins add accounts (one or in bulk, all or none), edit them and mint tokens for them; every
user edits a few fields of their own. Who sees whom, and the ``Profile`` every answer here returns, is
``profiles.py``.
"""

from __future__ import annotations

import re
import secrets
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.codes import Code
from ..domain.errors import BadRequest, Conflict, Forbidden, fields_renamed
from ..domain.models import Organisation, Principal, User
from ..store import credentials as credential_store
from ..store import orgs as org_store
from ..store import users as user_store
from .access import access_org, access_user, may_manage, role_at_least, visible_users
from .auth import create_token_in, do_create_token, tell_credentials_changed
from .context import Core, Tx
from .files import picture_file
from .ids import parse_id
from .orgs import check_name, detach_member, insert_org_in
from .passwords import check_password_policy
from .profiles import Profile, profile_in, profiles_in, sight_of
from .users import check_email, check_username, create_user_in

USER_STATUSES = ("active", "blocked", "archived")
AVAILABILITIES = ("available", "away")
BULK_MAX = 500

# Intranet fields chat does not act on: kept as given in ``users.profile`` and shown back, never invented.
_PROFILE_TEXT = {
    "phone": 64,
    "bio": 2000,
    "designation": 128,
    "security_group": 128,
    "external_user_id": 128,
    "default_visibility": 16,
}
_PROFILE_FLAGS = ("is_department_head", "is_expert")
_PROFILE_LISTS = ("skills", "additional_teams", "additional_locations")
_PROFILE_IDS = ("reports_to", "cover_file_id")
PROFILE_FIELDS = (*_PROFILE_TEXT, *_PROFILE_FLAGS, *_PROFILE_LISTS, *_PROFILE_IDS)
_COLUMN_TEXT = {"first_name": 64, "last_name": 64, "department": 128, "location": 128}
# What a user may change on their own account; the rest is the organisation's (admins).
SELF_EDITABLE = frozenset(
    {"first_name", "last_name", "availability", "picture_file_id", "cover_file_id", "phone", "bio"}
)


@dataclass(slots=True)
class NewUser:
    """An account an organisation admin creates. Without ``username`` one is derived from the email."""

    email: str
    first_name: str = ""
    last_name: str = ""
    username: str | None = None
    password: str | None = None
    department: str = ""
    location: str = ""
    profile: dict[str, Any] = field(default_factory=dict)


def _text(name: str, value: Any, max_length: int) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > max_length:
        raise BadRequest.field(name, f"must be at most {max_length} characters")
    return text


def _clean_list(name: str, values: Any) -> list[str]:
    items = [str(v).strip() for v in (values or []) if str(v).strip()]
    if len(items) > 100 or any(len(item) > 128 for item in items):
        raise BadRequest.field(name, "at most 100 values of at most 128 characters")
    return list(dict.fromkeys(items))


def _clean_profile(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate profile values; ``None`` means "clear this field"."""
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in PROFILE_FIELDS:
            raise BadRequest.field(name, "unknown profile field")
        if value is None:
            cleaned[name] = None
        elif name in _PROFILE_TEXT:
            cleaned[name] = _text(name, value, _PROFILE_TEXT[name]) or None
        elif name in _PROFILE_FLAGS:
            cleaned[name] = bool(value)
        elif name in _PROFILE_LISTS:
            cleaned[name] = _clean_list(name, value)
        else:
            cleaned[name] = str(parse_id(value, name))
    if cleaned.get("default_visibility") not in (None, "public", "restricted"):
        raise BadRequest.field("default_visibility", "must be public or restricted")
    return cleaned


def _merge_profile(profile: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**profile, **changes}
    return {key: value for key, value in merged.items() if value is not None}


def _display_name(first: str, last: str, fallback: str) -> str:
    return (f"{first} {last}".strip() or fallback)[:128]


async def _target_org(conn: AsyncConnection, principal: Principal, org_id: int | None) -> int:
    """The organisation new users join: the one named, else the caller's only admin organisation."""
    if org_id is None:
        mine = await org_store.orgs_of_user(conn, principal.user_id)
        admin_of = [o for o, role in mine.items() if role_at_least(role, "admin")]
        if len(admin_of) == 1:
            org_id = admin_of[0]
        elif not admin_of and not principal.user.is_admin:
            raise Forbidden("only organisation admins add users")
        else:
            raise BadRequest.field("organisation_id", "required: name the organisation the users join")
    org, _ = await access_org(conn, principal, org_id, "admin", writing=True)
    return org.id


async def _free_username(conn: AsyncConnection, email: str) -> str:
    """A username from the email's local part, numbered when taken (``john.smith``, ``john.smith2``…)."""
    base = re.sub(r"[^A-Za-z0-9._-]", "", email.split("@", 1)[0]).lstrip("._-")[:56] or "user"
    for number in range(1, 100):
        candidate = base if number == 1 else f"{base}{number}"
        if await user_store.find_by_username(conn, candidate) is None:
            return candidate
    return f"{base}-{secrets.token_hex(3)}"


def check_new_user(new: NewUser) -> NewUser:
    """Validate (and trim) a new account before any transaction, so a bad item costs no write."""
    check_email(new.email)
    for name in ("first_name", "last_name", "department", "location"):
        setattr(new, name, _text(name, getattr(new, name), _COLUMN_TEXT[name]))
    new.profile = {k: v for k, v in _clean_profile(new.profile).items() if v is not None}
    if new.password is not None:
        check_password_policy(new.password)
    return new


async def add_user_in(
    tx: Tx, core: Core, new: NewUser, password_hash: str | None, principal: Principal, org_id: int, role: str
) -> User:
    """Create an account (already checked) and make it a member of ``org_id`` with ``role``."""
    if "reports_to" in new.profile:
        await _check_reports_to(tx.conn, principal, None, int(new.profile["reports_to"]))
    username = check_username(new.username) if new.username else await _free_username(tx.conn, new.email)
    extra = {
        "first_name": new.first_name,
        "last_name": new.last_name,
        "department": new.department,
        "location": new.location,
        "profile": {**new.profile, "created_by": str(principal.user_id)},
        "password_hash": password_hash,
    }
    display = _display_name(new.first_name, new.last_name, username)
    user = await create_user_in(tx, core, username, new.email, None, display_name=display, extra=extra)
    await org_store.set_member(tx.conn, org_id, user.id, role, tx.now)
    return user


async def do_add_users(
    core: Core, principal: Principal, org_id: int | None, new_users: list[NewUser]
) -> list[Profile]:
    """Create accounts as members of one organisation, all or none (a bulk import never half-lands)."""
    if not new_users or len(new_users) > BULK_MAX:
        raise BadRequest.field("data", f"give 1 to {BULK_MAX} users")
    bulk = len(new_users) > 1
    async with core.reading() as conn:
        await _target_org(conn, principal, org_id)  # refuse before spending time on password hashes
    hashes: list[str | None] = []
    for index, new in enumerate(new_users):
        with fields_renamed(item=f"data.{index}") if bulk else nullcontext():
            check_new_user(new)
            hashes.append(await core.passwords.hash(new.password) if new.password is not None else None)
    async with core.transaction() as tx:
        target_org = await _target_org(tx.conn, principal, org_id)
        created: list[User] = []
        for index, (new, password_hash) in enumerate(zip(new_users, hashes)):
            with fields_renamed(item=f"data.{index}") if bulk else nullcontext():
                user = await add_user_in(tx, core, new, password_hash, principal, target_org, "member")
                created.append(user)
        return await profiles_in(tx.conn, core, principal, created)


async def _check_reports_to(
    conn: AsyncConnection, principal: Principal, target: User | None, boss_id: int
) -> None:
    """A supervisor must be someone the caller may see: others look unknown (no probing ids)."""
    if target is not None and boss_id == target.id:
        raise BadRequest.field("reports_to", "a user cannot report to themselves")
    if boss_id not in await visible_users(conn, principal, [boss_id]):
        raise BadRequest.field("reports_to", "no such user")


def _check_columns(changes: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name in _COLUMN_TEXT:
            values[name] = _text(name, value, _COLUMN_TEXT[name])
        elif name == "status":
            if value not in USER_STATUSES:
                raise BadRequest.field(name, "must be one of " + ", ".join(USER_STATUSES))
            values[name] = value
        elif name == "availability":
            if value not in AVAILABILITIES:
                raise BadRequest.field(name, "must be one of " + ", ".join(AVAILABILITIES))
            values[name] = value
        elif name == "picture_file_id":
            values[name] = None if value is None else parse_id(value, name)
        else:
            raise BadRequest.field(name, "unknown field")
    return values


async def do_update_user(
    core: Core,
    principal: Principal,
    user_id: int,
    changes: dict[str, Any],
    add: dict[str, list[str]] | None = None,
    remove: dict[str, list[str]] | None = None,
) -> Profile:
    """Change a user's fields (``None`` clears one) and add to or remove from their list fields.

    Users edit their own name, picture, availability, phone and bio; the rest, and anyone else, needs
    authority over the account (``access_user(manage=True)``). Leaving ``active`` ends the sessions."""
    add, remove = add or {}, remove or {}
    profile_changes = _clean_profile({k: v for k, v in changes.items() if k in PROFILE_FIELDS})
    columns = _check_columns({k: v for k, v in changes.items() if k not in PROFILE_FIELDS})
    lists = {name: (_clean_list(name, add.get(name)), _clean_list(name, remove.get(name))) for name in {*add, *remove}}
    if any(name not in _PROFILE_LISTS for name in lists):
        raise BadRequest("only list fields take additions and removals")
    async with core.transaction() as tx:
        own = user_id == principal.user_id
        touched = {*profile_changes, *columns, *lists}
        target = await access_user(tx.conn, principal, user_id, manage=not (own and touched <= SELF_EDITABLE))
        if own and "status" in columns:
            raise Forbidden("you cannot change your own status")
        for name, given in (("picture_file_id", columns), ("cover_file_id", profile_changes)):
            if given.get(name) is not None:
                picture = await picture_file(tx, principal, int(given[name]), name, owner_id=target.id)
                given[name] = picture.id if given is columns else str(picture.id)
        if profile_changes.get("reports_to") is not None:
            await _check_reports_to(tx.conn, principal, target, int(profile_changes["reports_to"]))
        profile = _merge_profile(target.profile, profile_changes)
        for name, (added, removed) in lists.items():
            kept = [item for item in profile.get(name, []) if item not in removed]
            profile[name] = _clean_list(name, kept + [item for item in added if item not in kept])
        profile["updated_by"] = str(principal.user_id)
        values = {**columns, "profile": profile, "updated_at": tx.now}
        if {"first_name", "last_name"} & columns.keys():
            first, last = columns.get("first_name", target.first_name), columns.get("last_name", target.last_name)
            values["display_name"] = _display_name(first, last, target.username)
        await user_store.update_user(tx.conn, user_id, values)
        if columns.get("status", "active") != "active":
            await credential_store.delete_user_sessions(tx.conn, user_id)
            tell_credentials_changed(tx, user_id)
        return await profile_in(tx.conn, core, principal, user_id)


async def do_create_token_for(core: Core, principal: Principal, user_id: int) -> tuple[str, User]:
    """An access token for another user (or oneself), for those with authority over that account."""
    async with core.reading() as conn:
        target = await access_user(conn, principal, user_id, manage=True)
    if not target.is_active:
        raise Conflict("the account is not active", code=Code.INACTIVE)
    secret, _ = await do_create_token(core, target.id, f"generated by user {principal.user_id}")
    return secret, target


async def do_create_org_with_owner(
    core: Core, principal: Principal, name: str, owner: NewUser
) -> tuple[Organisation, Profile, str]:
    """A server admin opens an organisation for someone else: the organisation, its first owner's account
    and that owner's access token (returned once) are created together, or not at all; the server admin
    does not become a member."""
    if not principal.user.is_admin:
        raise Forbidden("only server administrators create organisations for others")
    name = check_name(name)
    with fields_renamed(item="admin"):
        check_new_user(owner)
    password_hash = await core.passwords.hash(owner.password) if owner.password is not None else None
    async with core.transaction() as tx:
        org = await insert_org_in(tx, name, principal.user_id)
        with fields_renamed(item="admin"):
            user = await add_user_in(tx, core, owner, password_hash, principal, org.id, "owner")
        secret, _ = await create_token_in(tx, user.id, "organisation admin, created with the organisation")
        return org, await profile_in(tx.conn, core, principal, user.id), secret


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
        await detach_member(tx, org_id, user_id, theirs[org_id])
    if len(leaving) == len(theirs):
        await user_store.update_user(tx.conn, user_id, {"status": "archived", "updated_at": tx.now})
        await credential_store.delete_user_sessions(tx.conn, user_id)
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
        seen = await sight_of(tx.conn, core, principal, unique)  # as the caller saw them, before they left
        for user_id in unique:
            with fields_renamed(item=f"id.{user_ids.index(user_id)}") if bulk else nullcontext():
                await _offboard(tx, principal, user_id)
        found = await user_store.get_users(tx.conn, unique)
        return await profiles_in(tx.conn, core, principal, [found[user_id] for user_id in unique], seen=seen)
