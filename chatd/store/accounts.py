"""Account queries for operators and for the server's credential sweep: every token with its owner, and
which of many sessions, tokens and users are still good, in one query each."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.models import AccessToken
from .tables import access_tokens, sessions, users
from .credentials import _token

CHUNK = 500  # ids per IN list: well under SQLite's and asyncpg's parameter limits


async def tokens_with_owners(conn: AsyncConnection, user_id: int | None = None) -> list[tuple[AccessToken, str]]:
    """Every access token (revoked ones too), oldest first, with its owner's username."""
    query = select(access_tokens, users.c.username).join(users, users.c.id == access_tokens.c.user_id)
    if user_id is not None:
        query = query.where(access_tokens.c.user_id == user_id)
    rows = await conn.execute(query.order_by(access_tokens.c.id))
    return [(_token(row), str(row.username)) for row in rows]


async def token_by_id(conn: AsyncConnection, token_id: int) -> AccessToken | None:
    row = (await conn.execute(select(access_tokens).where(access_tokens.c.id == token_id))).first()
    return None if row is None else _token(row)


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    unique = sorted(set(ids))
    return [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)]


async def active_users(conn: AsyncConnection, user_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(user_ids):
        rows = await conn.execute(select(users.c.id).where(users.c.id.in_(chunk), users.c.status == "active"))
        found.update(int(row[0]) for row in rows)
    return found


async def live_sessions(conn: AsyncConnection, session_ids: Sequence[int], now: int) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(session_ids):
        rows = await conn.execute(select(sessions.c.id).where(sessions.c.id.in_(chunk), sessions.c.expires_at > now))
        found.update(int(row[0]) for row in rows)
    return found


async def live_tokens(conn: AsyncConnection, token_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(token_ids):
        rows = await conn.execute(
            select(access_tokens.c.id).where(access_tokens.c.id.in_(chunk), access_tokens.c.revoked_at.is_(None))
        )
        found.update(int(row[0]) for row in rows)
    return found
