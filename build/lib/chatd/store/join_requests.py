"""Join requests: rows asking to join a ``byRequest`` channel, pending until an owner decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import join_requests


@dataclass(slots=True)
class JoinRequest:
    id: int
    channel_id: int
    user_id: int
    status: str
    created_at: int
    decided_by: int | None = None
    decided_at: int | None = None


def _request(row: Any) -> JoinRequest:
    return JoinRequest(
        id=row.id,
        channel_id=row.channel_id,
        user_id=row.user_id,
        status=row.status,
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


async def insert(conn: AsyncConnection, request: JoinRequest) -> None:
    await conn.execute(
        join_requests.insert().values(
            id=request.id,
            channel_id=request.channel_id,
            user_id=request.user_id,
            status=request.status,
            created_at=request.created_at,
        )
    )


async def get(conn: AsyncConnection, request_id: int) -> JoinRequest | None:
    row = (await conn.execute(select(join_requests).where(join_requests.c.id == request_id))).first()
    return None if row is None else _request(row)


async def pending_of(conn: AsyncConnection, channel_id: int, user_id: int) -> JoinRequest | None:
    row = (
        await conn.execute(
            select(join_requests).where(
                join_requests.c.channel_id == channel_id,
                join_requests.c.user_id == user_id,
                join_requests.c.status == "pending",
            )
        )
    ).first()
    return None if row is None else _request(row)


async def pending(conn: AsyncConnection, channel_id: int, offset: int, limit: int) -> tuple[list[JoinRequest], int]:
    """A channel's pending requests, oldest first, with their total."""
    where = [join_requests.c.channel_id == channel_id, join_requests.c.status == "pending"]
    total = int((await conn.execute(select(func.count()).select_from(join_requests).where(*where))).scalar_one())
    rows = await conn.execute(
        select(join_requests).where(*where).order_by(join_requests.c.id).offset(offset).limit(limit)
    )
    return [_request(row) for row in rows], total


async def decide(conn: AsyncConnection, request_id: int, status: str, by: int, now: int) -> None:
    await conn.execute(
        join_requests.update()
        .where(join_requests.c.id == request_id)
        .values(status=status, decided_by=by, decided_at=now)
    )
