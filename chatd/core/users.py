"""User accounts: creation, passwords, lookups, the server's first administrator.

What organisations do with their people (adding, editing, offboarding, profiles) is ``directory.py``."""

from __future__ import annotations

import re
from typing import Any


from ..domain.errors import BadRequest, Conflict, Forbidden, NotFound
from ..domain.models import Principal, User
from ..store import orgs as org_store
from ..store import credentials as credential_store
from ..store import users as user_store
from .auth import tell_credentials_changed
from .context import Core, Tx
from .paging import Page, PageRequest
from .passwords import check_password_policy

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_username(username: str) -> str:
    username = username.strip()
    if not USERNAME_RE.fullmatch(username):
        raise BadRequest.field("username", "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return username


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not EMAIL_RE.fullmatch(email):
        raise BadRequest.field("email", "must be an email address")
    return email


async def create_user_in(
    tx: Tx,
    core: Core,
    username: str,
    email: str,
    password: str | None,
    *,
    display_name: str = "",
    is_admin: bool = False,
    extra: dict[str, Any] | None = None,
) -> User:
    """Insert a user inside an open transaction (used by the CLI, the WorkDrive face and tests)."""
    username = check_username(username)
    email = check_email(email)
    password_hash = None
    if password is not None:
        check_password_policy(password)
        password_hash = await core.passwords.hash(password)
    now = tx.now
    values: dict[str, Any] = {
        "id": tx.new_id(),
        "username": username,
        "email": email,
        "display_name": (display_name or username)[:128],
        "password_hash": password_hash,
        "is_admin": is_admin,
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }
    values.update(extra or {})
    await user_store.insert_user(tx.conn, values)
    user = await user_store.get_user(tx.conn, values["id"])
    assert user is not None
    return user


async def do_create_user(
    core: Core,
    username: str,
    email: str,
    password: str | None,
    *,
    display_name: str = "",
    is_admin: bool = False,
    org_id: int | None = None,
) -> User:
    async with core.transaction() as tx:
        user = await create_user_in(tx, core, username, email, password, display_name=display_name, is_admin=is_admin)
        if org_id is not None:
            if await org_store.get_org(tx.conn, org_id) is None:
                raise NotFound("no such organisation", fields={"org": "not found"})
            await org_store.set_member(tx.conn, org_id, user.id, "member", tx.now)
    return user


async def do_set_password(core: Core, user_id: int, password: str) -> None:
    check_password_policy(password)
    password_hash = await core.passwords.hash(password)
    async with core.transaction() as tx:
        if await user_store.get_user(tx.conn, user_id) is None:
            raise NotFound("no such user")
        await user_store.update_user(tx.conn, user_id, {"password_hash": password_hash, "updated_at": tx.now})
        await credential_store.delete_user_sessions(tx.conn, user_id)
        tell_credentials_changed(tx, user_id)


async def do_change_own_password(core: Core, principal: Principal, old: str, new: str) -> None:
    if not await core.passwords.verify(principal.user.password_hash, old):
        raise Forbidden("current password is wrong", fields={"old_password": "wrong"})
    await do_set_password(core, principal.user_id, new)


async def get_user(core: Core, user_id: int) -> User:
    """Any account by id, for the operator's tools (the CLI, tests): no viewer, so no directory rule."""
    async with core.reading() as conn:
        user = await user_store.get_user(conn, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


async def find_user(core: Core, login: str) -> User:
    async with core.reading() as conn:
        user = await user_store.find_by_login(conn, login)
    if user is None:
        raise NotFound(f"no user {login!r}")
    return user


async def list_users(core: Core, page: PageRequest) -> Page[User]:
    async with core.reading() as conn:
        items, total = await user_store.list_all_users(conn, page.offset, page.per_page)
    return Page(items, total, page)


async def ensure_admin(core: Core, password: str) -> bool:
    """Create the ``admin`` account when the server has no administrator; returns whether it did.

    Several nodes may start at once: one creates it, the others find the name taken and, seeing an
    administrator now, go on. A taken name with still no administrator is a real conflict and is raised."""
    try:
        async with core.transaction() as tx:
            if await user_store.count_admins(tx.conn):
                return False
            await create_user_in(tx, core, "admin", "admin@localhost.localdomain", password, is_admin=True)
    except Conflict:
        async with core.reading() as conn:
            if await user_store.count_admins(conn):
                return False
        raise
    return True
