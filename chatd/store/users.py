"""User accounts: rows, lookups, the directory's searches, and each user's organisations."""

from __future__ import annotations

from typing import Any, Sequence

import orjson
from sqlalchemy import and_, bindparam, func, literal, or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.codes import Code
from ..domain.errors import Conflict
from ..domain.models import User
from .id_lists import id_in
from .like import like_pattern
from .rows import Picker
from .tables import org_members, organisations, users


_USER = Picker(
    "id", "username", "email", "display_name", "status", "is_admin", "created_at", "updated_at", "first_name",
    "last_name", "picture_file_id", "availability", "department", "location", "profile", "last_seen_at",
    "password_hash",
)


def _user(row: Any) -> User:
    (row_id, username, email, display_name, status, is_admin, created_at, updated_at, first_name, last_name,
     picture_file_id, availability, department, location, profile, last_seen_at, password_hash) = _USER(row)
    return User(
        id=row_id,
        username=username,
        email=email,
        display_name=display_name,
        status=status,
        is_admin=bool(is_admin),
        created_at=created_at,
        updated_at=updated_at,
        first_name=first_name,
        last_name=last_name,
        picture_file_id=picture_file_id,
        availability=availability,
        department=department,
        location=location,
        profile=orjson.loads(profile or "{}"),
        last_seen_at=last_seen_at,
        password_hash=password_hash,
    )


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    """Derive the case-folded unique keys and serialise the profile."""
    out = dict(values)
    if "username" in out:
        out["username_key"] = out["username"].casefold()
    if "email" in out:
        out["email_key"] = out["email"].casefold()
    if "profile" in out:
        out["profile"] = orjson.dumps(out["profile"]).decode()
    return out


async def _write_unique(conn: AsyncConnection, statement: Any) -> None:
    """Run an insert/update; a clash on username or email becomes a 409 naming the field."""
    try:
        async with conn.begin_nested():
            await conn.execute(statement)
    except IntegrityError as exc:
        text = str(exc.orig).lower()
        field = "email" if "email" in text else "username"
        raise Conflict(f"{field} is already taken", code=Code.TAKEN, fields={field: "already taken"}) from None


async def insert_user(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await _write_unique(conn, users.insert().values(**_columns(values)))


async def update_user(conn: AsyncConnection, user_id: int, values: dict[str, Any]) -> None:
    await _write_unique(conn, users.update().where(users.c.id == user_id).values(**_columns(values)))


async def get_user(conn: AsyncConnection, user_id: int) -> User | None:
    row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
    return None if row is None else _user(row)


async def get_users(conn: AsyncConnection, user_ids: Sequence[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    rows = await conn.execute(select(users).where(users.c.id.in_(set(user_ids))))
    return {row.id: _user(row) for row in rows}


async def find_by_login(conn: AsyncConnection, login: str) -> User | None:
    key = login.strip().casefold()
    row = (
        await conn.execute(select(users).where(or_(users.c.username_key == key, users.c.email_key == key)))
    ).first()
    return None if row is None else _user(row)


async def find_by_username(conn: AsyncConnection, username: str) -> User | None:
    row = (await conn.execute(select(users).where(users.c.username_key == username.casefold()))).first()
    return None if row is None else _user(row)


async def ids_by_usernames(conn: AsyncConnection, usernames: Sequence[str]) -> dict[str, int]:
    keys = {name.casefold() for name in usernames}
    if not keys:
        return {}
    rows = await conn.execute(select(users.c.username_key, users.c.id).where(users.c.username_key.in_(keys)))
    return {row.username_key: row.id for row in rows}


async def count_admins(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).where(users.c.is_admin.is_(True)))).scalar_one())


async def search_users(
    conn: AsyncConnection,
    query: str,
    offset: int,
    limit: int,
    filters: dict[str, str] | None = None,
    within_ids: Any = None,
    emails_within: Any = None,
) -> tuple[list[User], int]:
    """Match username, display name and email (case-insensitive substring); optionally only ``within_ids``,
    and the email only of ``emails_within`` (so a search cannot reveal an address the caller may not see)."""
    where: list[Any] = []
    if query:
        pattern = like_pattern(query)
        by_email: Any = users.c.email_key.like(pattern, escape="\\")
        if emails_within is not None:
            by_email = and_(by_email, users.c.id.in_(emails_within))
        where.append(
            or_(
                users.c.username_key.like(pattern, escape="\\"),
                func.lower(users.c.display_name).like(pattern, escape="\\"),
                by_email,
                func.lower(users.c.first_name + " " + users.c.last_name).like(pattern, escape="\\"),
            )
        )
    for column, value in (filters or {}).items():
        where.append(func.lower(users.c[column]) == value.casefold())
    if within_ids is not None:
        where.append(users.c.id.in_(within_ids))
    total = int((await conn.execute(select(func.count()).select_from(users).where(*where))).scalar_one())
    rows = await conn.execute(
        select(users).where(*where).order_by(users.c.username_key).offset(offset).limit(limit)
    )
    return [_user(row) for row in rows], total


async def list_all_users(conn: AsyncConnection, offset: int, limit: int) -> tuple[list[User], int]:
    return await search_users(conn, "", offset, limit)


def peer_ids_query(user_id: int, roles: Sequence[str] | None = None) -> Any:
    """Ids of the user and of everyone sharing a live organisation with them, as a subquery for filters;
    ``roles``: only organisations where the user has one of them (the people an admin administers)."""
    live_orgs = (
        select(org_members.c.organisation_id)
        .select_from(org_members.join(organisations, organisations.c.id == org_members.c.organisation_id))
        .where(org_members.c.user_id == user_id, organisations.c.removed_at.is_(None))
    )
    if roles is not None:
        live_orgs = live_orgs.where(org_members.c.role.in_(list(roles)))
    peers = select(org_members.c.user_id).where(org_members.c.organisation_id.in_(live_orgs))
    return union(peers, select(literal(user_id, users.c.id.type)))


async def org_ids_of_users(conn: AsyncConnection, user_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each user's live organisations, oldest membership first (one query for a whole page)."""
    found: dict[int, list[int]] = {user_id: [] for user_id in user_ids}
    if not found:
        return found
    rows = await conn.execute(
        select(org_members.c.user_id, org_members.c.organisation_id)
        .select_from(org_members.join(organisations, organisations.c.id == org_members.c.organisation_id))
        .where(org_members.c.user_id.in_(set(user_ids)), organisations.c.removed_at.is_(None))
        .order_by(org_members.c.joined_at, org_members.c.organisation_id)
    )
    for row in rows:
        found[row.user_id].append(row.organisation_id)
    return found


_MARK_SEEN = (
    users.update().where(id_in(users.c.id, "user_ids")).values(last_seen_at=bindparam("seen_at"))
)


async def mark_seen(conn: AsyncConnection, user_ids: list[int], now: int) -> None:
    await conn.execute(_MARK_SEEN, {"user_ids": user_ids, "seen_at": now})
