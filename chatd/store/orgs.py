"""Organisations and their members."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.models import Membership, Organisation
from .like import like_pattern
from .tables import org_members, organisations


def _org(row: Any) -> Organisation:
    return Organisation(
        id=row.id,
        name=row.name,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        archived_at=row.archived_at,
        removed_at=row.removed_at,
        profile=orjson.loads(row.profile or "{}"),
        picture_file_id=row.picture_file_id,
    )


async def insert_org(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(organisations.insert().values(**values))


async def update_org(conn: AsyncConnection, org_id: int, values: dict[str, Any]) -> None:
    await conn.execute(organisations.update().where(organisations.c.id == org_id).values(**values))


async def get_org(conn: AsyncConnection, org_id: int) -> Organisation | None:
    """A live organisation (removed ones are gone for every caller)."""
    row = (
        await conn.execute(
            select(organisations).where(organisations.c.id == org_id, organisations.c.removed_at.is_(None))
        )
    ).first()
    return None if row is None else _org(row)


async def search_orgs(
    conn: AsyncConnection, user_id: int, query: str, archived: bool | None, offset: int, limit: int
) -> tuple[list[tuple[Organisation, str]], int]:
    """Organisations ``user_id`` belongs to, with their role, by name."""
    where: list[Any] = [
        org_members.c.user_id == user_id,
        organisations.c.removed_at.is_(None),
    ]
    if query:
        where.append(func.lower(organisations.c.name).like(like_pattern(query), escape="\\"))
    if archived is not None:
        where.append(organisations.c.archived_at.is_not(None) if archived else organisations.c.archived_at.is_(None))
    joined = organisations.join(org_members, org_members.c.organisation_id == organisations.c.id)
    total = int((await conn.execute(select(func.count()).select_from(joined).where(*where))).scalar_one())
    rows = await conn.execute(
        select(organisations, org_members.c.role)
        .select_from(joined)
        .where(*where)
        .order_by(func.lower(organisations.c.name), organisations.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [(_org(row), row.role) for row in rows], total


async def get_role(conn: AsyncConnection, org_id: int, user_id: int) -> str | None:
    row = (
        await conn.execute(
            select(org_members.c.role).where(
                org_members.c.organisation_id == org_id, org_members.c.user_id == user_id
            )
        )
    ).first()
    return None if row is None else str(row[0])


async def set_member(conn: AsyncConnection, org_id: int, user_id: int, role: str, now: int) -> bool:
    """Add the member or change their role; returns whether they were newly added."""
    current = await get_role(conn, org_id, user_id)
    if current is None:
        await conn.execute(
            org_members.insert().values(organisation_id=org_id, user_id=user_id, role=role, joined_at=now)
        )
        return True
    await conn.execute(
        org_members.update()
        .where(org_members.c.organisation_id == org_id, org_members.c.user_id == user_id)
        .values(role=role)
    )
    return False


async def remove_member(conn: AsyncConnection, org_id: int, user_id: int) -> None:
    await conn.execute(
        org_members.delete().where(org_members.c.organisation_id == org_id, org_members.c.user_id == user_id)
    )


async def count_role(conn: AsyncConnection, org_id: int, role: str) -> int:
    return int(
        (
            await conn.execute(
                select(func.count()).where(org_members.c.organisation_id == org_id, org_members.c.role == role)
            )
        ).scalar_one()
    )


async def list_members(conn: AsyncConnection, org_id: int, offset: int, limit: int) -> tuple[list[Membership], int]:
    where = org_members.c.organisation_id == org_id
    total = int((await conn.execute(select(func.count()).where(where))).scalar_one())
    rows = await conn.execute(
        select(org_members.c.user_id, org_members.c.role, org_members.c.joined_at).where(where)
        .order_by(org_members.c.joined_at, org_members.c.user_id).offset(offset).limit(limit)
    )
    return [Membership(user_id=user_id, role=role, joined_at=joined_at) for user_id, role, joined_at in rows], total


async def member_ids(conn: AsyncConnection, org_id: int) -> set[int]:
    rows = await conn.execute(select(org_members.c.user_id).where(org_members.c.organisation_id == org_id))
    return {row[0] for row in rows}


ORGS_OF_USER = (  # the user's live organisations and their role in each (``user_id``)
    select(org_members.c.organisation_id, org_members.c.role)
    .select_from(org_members.join(organisations, organisations.c.id == org_members.c.organisation_id))
    .where(org_members.c.user_id == bindparam("user_id"), organisations.c.removed_at.is_(None))
)


async def orgs_of_user(conn: AsyncConnection, user_id: int) -> dict[int, str]:
    """Every live organisation of the user, with their role."""
    rows = await conn.execute(ORGS_OF_USER, {"user_id": user_id})
    return {organisation_id: role for organisation_id, role in rows}


async def ids_by_name(conn: AsyncConnection, name: str) -> list[int]:
    rows = await conn.execute(
        select(organisations.c.id).where(
            func.lower(organisations.c.name) == name.strip().casefold(), organisations.c.removed_at.is_(None)
        )
    )
    return [row[0] for row in rows]
