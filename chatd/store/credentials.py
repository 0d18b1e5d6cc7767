"""Credentials: login sessions and access tokens (stored by the hash of their secret, never the secret)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.models import AccessToken, Session
from .tables import access_tokens, sessions

def _session(row: Any) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        client_id=row.client_id,
        user_agent=row.user_agent,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )


async def insert_session(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sessions.insert().values(**values))


async def session_by_hash(conn: AsyncConnection, token_hash: str) -> Session | None:
    row = (await conn.execute(select(sessions).where(sessions.c.token_hash == token_hash))).first()
    return None if row is None else _session(row)


async def session_alive(conn: AsyncConnection, session_id: int, now: int) -> bool:
    row = (
        await conn.execute(select(sessions.c.id).where(sessions.c.id == session_id, sessions.c.expires_at > now))
    ).first()
    return row is not None


async def token_alive(conn: AsyncConnection, token_id: int) -> bool:
    row = (
        await conn.execute(
            select(access_tokens.c.id).where(access_tokens.c.id == token_id, access_tokens.c.revoked_at.is_(None))
        )
    ).first()
    return row is not None


async def touch_session(conn: AsyncConnection, session_id: int, now: int) -> None:
    await conn.execute(sessions.update().where(sessions.c.id == session_id).values(last_seen_at=now))


async def list_sessions(conn: AsyncConnection, user_id: int, now: int) -> list[Session]:
    rows = await conn.execute(
        select(sessions)
        .where(sessions.c.user_id == user_id, sessions.c.expires_at > now)
        .order_by(sessions.c.last_seen_at.desc())
    )
    return [_session(row) for row in rows]


async def delete_session(conn: AsyncConnection, user_id: int, session_id: int) -> bool:
    result = await conn.execute(
        sessions.delete().where(sessions.c.id == session_id, sessions.c.user_id == user_id)
    )
    return bool(result.rowcount)


async def delete_user_sessions(conn: AsyncConnection, user_id: int, client_id: str | None = None) -> int:
    statement = sessions.delete().where(sessions.c.user_id == user_id)
    if client_id is not None:
        statement = statement.where(sessions.c.client_id == client_id)
    return int((await conn.execute(statement)).rowcount)


# Access tokens -------------------------------------------------------------------------------------


def _token(row: Any) -> AccessToken:
    return AccessToken(
        id=row.id,
        user_id=row.user_id,
        label=row.label,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


async def insert_token(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(access_tokens.insert().values(**values))


async def token_by_hash(conn: AsyncConnection, token_hash: str) -> AccessToken | None:
    row = (await conn.execute(select(access_tokens).where(access_tokens.c.token_hash == token_hash))).first()
    return None if row is None else _token(row)


async def touch_token(conn: AsyncConnection, token_id: int, now: int) -> None:
    await conn.execute(access_tokens.update().where(access_tokens.c.id == token_id).values(last_used_at=now))


async def list_tokens(conn: AsyncConnection, user_id: int) -> list[AccessToken]:
    rows = await conn.execute(
        select(access_tokens)
        .where(access_tokens.c.user_id == user_id, access_tokens.c.revoked_at.is_(None))
        .order_by(access_tokens.c.id)
    )
    return [_token(row) for row in rows]


async def revoke_token(conn: AsyncConnection, user_id: int, token_id: int, now: int) -> bool:
    result = await conn.execute(
        access_tokens.update()
        .where(
            access_tokens.c.id == token_id,
            access_tokens.c.user_id == user_id,
            access_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return bool(result.rowcount)
