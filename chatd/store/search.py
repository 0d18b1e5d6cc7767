"""Full-text search over messages: SQLite FTS5 or PostgreSQL ``tsvector``, one API, the same results.

chatd decides what the words are, not the engines: ``terms`` folds case (``casefold``: ``Straße`` is
``strasse``), compatibility forms (``ｆｕｌｌ`` is ``full``) and accents (``café`` is ``cafe``) and splits on
everything that is not a letter or a digit. Both engines index only those words, space-separated
(``document``), and a query is those words too, each matched as a literal term, all required. So
``example.com`` is ``example`` and ``com`` on both backends (PostgreSQL's own parser would keep it as one
host name, SQLite's would split it), and quotes, ``AND``/``NEAR``, ``*``, ``:`` or ``&`` are just text,
never a syntax error.

Both indexes are kept in step by ``index``/``reindex``/``unindex`` in the same transaction as the change:
on SQLite a separate FTS5 table, on PostgreSQL the ``messages.search_vector`` column (GIN-indexed).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import column, func, literal_column, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.models import Message
from .messages import message_of, with_details
from .tables import messages

WORD = re.compile(r"[^\W_]+")  # letters and digits; the underscore is a separator, as in both engines
ACCENTS = re.compile("[\u0300-\u036f]")  # combining diacritical marks, once NFKD has split them off
_fts = table("message_fts", column("rowid"), column("contents"))
_SET_VECTOR = text("UPDATE messages SET search_vector = to_tsvector('simple', :words) WHERE id = :id")
_CLEAR_VECTOR = text("UPDATE messages SET search_vector = NULL WHERE id = :id")


def terms(query: str) -> list[str]:
    """The searchable words of a text: case, compatibility forms and accents folded."""
    folded = ACCENTS.sub("", unicodedata.normalize("NFKD", query.casefold()))
    return WORD.findall(unicodedata.normalize("NFC", folded))


def document(contents: str) -> str:
    """What the engines index for ``contents``: its words, one space apart."""
    return " ".join(terms(contents))


def _sqlite(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "sqlite"


async def index_many(conn: AsyncConnection, items: list[tuple[int, str]]) -> None:
    """Index several new messages with one statement."""
    rows = [(message_id, document(contents)) for message_id, contents in items]
    if _sqlite(conn):
        values = [{"rowid": message_id, "contents": words} for message_id, words in rows if words]
        if values:
            await conn.execute(_fts.insert(), values)
    elif rows:
        await conn.execute(_SET_VECTOR, [{"words": words, "id": message_id} for message_id, words in rows])


async def unindex(conn: AsyncConnection, message_id: int) -> None:
    if _sqlite(conn):
        await conn.execute(_fts.delete().where(_fts.c.rowid == message_id))
    else:
        await conn.execute(_CLEAR_VECTOR, {"id": message_id})


async def reindex(conn: AsyncConnection, message_id: int, contents: str) -> None:
    if _sqlite(conn):
        await unindex(conn, message_id)
    await index_many(conn, [(message_id, contents)])


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
        vector: Any = literal_column("messages.search_vector")
        query = func.plainto_tsquery("simple", " ".join(words))
        source = messages
        matched = vector.op("@@")(query)
        score = func.ts_rank_cd(vector, query)
        order = [score.desc(), messages.c.id.desc()]
    conditions = [matched, messages.c.deleted_at.is_(None), *where]
    total = int((await conn.execute(select(func.count()).select_from(source).where(*conditions))).scalar_one())
    rows = list(
        await conn.execute(
            select(messages, score.label("score"))
            .select_from(source)
            .where(*conditions)
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
    )
    found = await with_details(conn, [message_of(row) for row in rows])  # files and mentions, as history has them
    return [(message, float(row.score)) for message, row in zip(found, rows)], total
