"""Leases on snowflake node ids: one row per id, held by one running node until it expires."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import node_leases

NODE_IDS = range(1, 1024)  # 0 is left to single-process SQLite deployments


async def serialise(conn: AsyncConnection) -> None:
    """Claims run one at a time across every node (until this transaction ends). SQLite: the write
    transaction already holds the database's single writer lock."""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727466)")


async def holders(conn: AsyncConnection, now: int) -> dict[int, str]:
    """Live leases: node id → holder."""
    rows = await conn.execute(select(node_leases.c.node_id, node_leases.c.holder).where(node_leases.c.expires_at > now))
    return {int(row[0]): str(row[1]) for row in rows}


async def take(conn: AsyncConnection, node_id: int, holder: str, expires_at: int) -> None:
    await conn.execute(delete(node_leases).where(node_leases.c.node_id == node_id))
    await conn.execute(node_leases.insert().values(node_id=node_id, holder=holder, expires_at=expires_at))


async def renew(conn: AsyncConnection, node_id: int, holder: str, expires_at: int) -> bool:
    result = await conn.execute(
        update(node_leases)
        .where(node_leases.c.node_id == node_id, node_leases.c.holder == holder)
        .values(expires_at=expires_at)
    )
    return bool(result.rowcount)


async def release(conn: AsyncConnection, node_id: int, holder: str) -> None:
    await conn.execute(delete(node_leases).where(node_leases.c.node_id == node_id, node_leases.c.holder == holder))
