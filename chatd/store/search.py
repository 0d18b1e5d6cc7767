"""Full-text search over messages: SQLite FTS5 or PostgreSQL ``tsvector``, one API, the same results.

User input never reaches the engine's query language: the query is split into words here (``\\w+``,
case-folded) and each word is matched as a literal term, all of them required. Quotes, ``AND``/``NEAR``,
``*``, ``:`` or ``&`` are therefore just text, never a syntax error.
On SQLite the index is a separate FTS5 table kept in step by ``index``/``unindex`` in the same transaction
as the change; on PostgreSQL it is a generated column, so those two calls do nothing.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import column, func, literal_column, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..core.models import Message
from .messages import message_of
from .tables import messages

WORD = re.compile(r"\w+")
_fts = table("message_fts", column("rowid"), column("contents"))


def terms(query: str) -> list[str]:
    return WORD.findall(query.casefold())


def _sqlite(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "sqlite"


async def index(conn: AsyncConnection, message_id: int, contents: str) -> None:
    if _sqlite(conn) and contents:
        await conn.execute(_fts.insert().values(rowid=message_id, contents=contents))


async def unindex(conn: AsyncConnection, message_id: int) -> None:
    if _sqlite(conn):
        await conn.execute(_fts.delete().where(_fts.c.rowid == message_id))


async def reindex(conn: AsyncConnection, message_id: int, contents: str) -> None:
    await unindex(conn, message_id)
    await index(conn, message_id, contents)


async def search(
    conn: AsyncConnection, words: list[str], where: list[Any], offset: int, limit: int
) -> tuple[list[tuple[Message, float]], int]:
    """Live messages matching every word and ``where``, best first (newest first among equals), with a total.

    No words: every message matching ``where``, newest first (a filtered listing)."""
    if not words:
        source: Any = messages
        matched: Any = messages.c.id.is_not(None)
        score: Any = literal_column("0.0")
        order = [messages.c.id.desc()]
    elif _sqlite(conn):
        match = " ".join(f'"{word}"' for word in words)
        source = _fts.join(messages, messages.c.id == _fts.c.rowid)
        matched = text("message_fts MATCH :match").bindparams(match=match)
        rank = func.bm25(literal_column("message_fts"))
        order = [rank.asc(), messages.c.id.desc()]
        score = -rank
    else:
        vector = literal_column("messages.search_vector")
        query = func.plainto_tsquery("simple", " ".join(words))
        source = messages
        matched = vector.op("@@")(query)
        score = func.ts_rank_cd(vector, query)
        order = [score.desc(), messages.c.id.desc()]
    conditions = [matched, messages.c.deleted_at.is_(None), *where]
    total = int((await conn.execute(select(func.count()).select_from(source).where(*conditions))).scalar_one())
    rows = await conn.execute(
        select(messages, score.label("score")).select_from(source).where(*conditions).order_by(*order).offset(offset).limit(limit)
    )
    return [(message_of(row), float(row.score)) for row in rows], total
