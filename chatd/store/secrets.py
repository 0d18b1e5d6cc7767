"""Secrets the server makes for itself, one row per name, shared by every node that shares the store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import server_secrets


async def keep_first(conn: AsyncConnection, name: str, candidate: str, now: int) -> str:
    """The secret stored under ``name``; ``candidate`` becomes it if none is stored yet.

    ``ON CONFLICT DO NOTHING`` and a read afterwards: when several nodes start at once, every one of them
    reads the value of whichever inserted first."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    await conn.execute(
        insert(server_secrets).values(name=name, value=candidate, created_at=now).on_conflict_do_nothing()
    )
    found = await conn.scalar(select(server_secrets.c.value).where(server_secrets.c.name == name))
    return str(found)
