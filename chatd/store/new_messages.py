"""Writing new messages: the rows, their files, mentions and search entries, and their ``message CREATED``
events with the channels' next seqs, for a whole group-commit batch at once (``Tx.flush``).

Each event belongs to the message at the same position; a channel's events take its next seqs in batch
order, and the channel's ``last_message_at`` becomes its newest message's time.

SQLite: one call on the connection's own thread for the whole batch (one statement per table there, with the
standard ``sqlite3`` module), the search entries included (their words and statement from the search store).
PostgreSQL: **one statement** for the whole batch, the tables written by data-modifying ``WITH`` clauses from
arrays (``unnest``) and the search vector computed in the insert rather than by an ``UPDATE`` of each new row:
one round trip and one row version per message, and the text never changes with the batch's size, so it stays
a prepared statement.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Sequence

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.events import Event
from ..domain.models import Message
from . import events as event_log
from . import search
from .channels import STANDING_AS_JSON_POSTGRESQL, Fingerprint, check_standings, check_standings_sqlite
from .direct import NotInTransaction, as_sqlalchemy_error, for_asyncpg, on_asyncpg, on_sqlite_thread


async def write(
    conn: AsyncConnection, batch: list[Message], created: list[Event], *, last: bool = False,
    expected: Sequence[tuple[int, int, Fingerprint]] = (),
) -> None:
    """Store ``batch`` and ``created`` (one event per message, same order) and set each event's ``seq``.
    ``last``: nothing follows in this transaction, so SQLite commits it in the same hop (``db.write``).
    ``expected``: (channel, user, fingerprint) standings the posts were allowed by, read before this
    transaction; checked first (``channels.check_standings_sqlite``: ``StandingChanged``, nothing written)."""
    if not batch:
        return
    assert len(batch) == len(created)
    if conn.dialect.name == "sqlite":
        await _write_sqlite(conn, batch, created, commit=last, expected=expected)
        return
    await _write_postgresql(conn, batch, created, expected)


_SQLITE_MESSAGES = (
    "INSERT INTO messages (id, channel_id, user_id, type, contents, meta, reply_to, client_msg_id, created_at,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_FILES = "INSERT INTO message_files (message_id, file_id, position) VALUES (?, ?, ?)"
_SQLITE_MENTIONS = "INSERT INTO mentions (message_id, user_id, channel_id) VALUES (?, ?, ?)"
_SQLITE_BUMP = "UPDATE channels SET last_seq = last_seq + ?, last_message_at = ? WHERE id = ? RETURNING last_seq"
_SQLITE_EVENTS = (
    "INSERT INTO channel_events (channel_id, seq, id, type, event, actor_id, payload, created_at, message_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def _write_sqlite(
    conn: AsyncConnection, batch: list[Message], created: list[Event], *, commit: bool,
    expected: Sequence[tuple[int, int, Fingerprint]],
) -> None:
    """The messages, their files and mentions, the channels' seqs, the events and the search entries, in one
    call on the thread that owns the SQLite connection (aiosqlite's): through SQLAlchemy each statement cost
    several hops between the event loop and that thread (cursor, execute, fetch, close) and its own Python on
    both sides; here the whole batch is one hop, with the standard ``sqlite3`` module's ``executemany`` (docs/performance.md,
    "Sends: the request path"). Same transaction as the caller's: the connection is the one it holds."""
    messages = [
        (m.id, m.channel_id, m.user_id, m.type, m.contents, orjson.dumps(m.meta).decode(), m.reply_to,
         m.client_msg_id, m.created_at, m.updated_at)
        for m in batch
    ]
    files = [(m.id, file_id, position) for m in batch for position, file_id in enumerate(m.file_ids)]
    named = [(m.id, user_id, m.channel_id) for m in batch for user_id in m.mentions]
    counts, newest, ranks = _per_channel(batch)
    payloads = [orjson.dumps(e.data).decode() for e in created]
    entries = search.sqlite_entries([(m.id, m.contents) for m in batch])

    def run(db: sqlite3.Connection) -> dict[int, int]:
        step = _SQLITE_MESSAGES
        try:
            if expected:
                step = "the standings the posts were allowed by"
                check_standings_sqlite(db, expected)
                step = _SQLITE_MESSAGES
            db.executemany(step, messages)
            if files:
                step = _SQLITE_FILES
                db.executemany(step, files)
            if named:
                step = _SQLITE_MENTIONS
                db.executemany(step, named)
            step = _SQLITE_BUMP
            bases: dict[int, int] = {}  # each channel's seq before the batch
            for channel_id, count in counts.items():
                row = db.execute(step, (count, newest[channel_id], channel_id)).fetchone()
                if row is None:  # the messages' foreign key fails first; this is the log's own guard
                    raise LookupError(f"no such channel: {channel_id}")
                bases[channel_id] = int(row[0]) - count
            step = _SQLITE_EVENTS
            rows = [
                (e.channel_id, bases[m.channel_id] + rank, e.id, e.type, e.event, e.actor_id, payload, e.created_at,
                 event_log.message_id_of(e))
                for e, m, rank, payload in zip(created, batch, ranks, payloads)
            ]
            db.executemany(step, rows)
            if entries:
                step = search.SQLITE_INDEX
                db.executemany(step, entries)
            if commit and db.in_transaction:
                step = "COMMIT"
                db.execute(step).close()
            return bases
        except sqlite3.Error as exc:  # named by the statement that failed
            raise as_sqlalchemy_error(step, exc) from exc

    bases = await on_sqlite_thread(conn, run, "a batch of new messages")
    _number(created, batch, ranks, bases)


_WRITE_POSTGRESQL = text(
    """
    WITH bumped AS (
        UPDATE channels AS c SET last_seq = c.last_seq + n.count, last_message_at = n.newest
        FROM unnest(CAST(:channel_ids AS BIGINT[]), CAST(:counts AS BIGINT[]), CAST(:newest AS BIGINT[]))
            AS n(id, count, newest)
        WHERE c.id = n.id
        RETURNING c.id, c.last_seq - n.count AS base
    ), new_messages AS (
        INSERT INTO messages
            (id, channel_id, user_id, type, contents, meta, reply_to, client_msg_id, created_at, updated_at,
             search_vector)
        SELECT m.id, m.channel_id, m.user_id, m.type, m.contents, m.meta, m.reply_to, m.client_msg_id,
               m.created_at, m.updated_at, to_tsvector('simple', m.words)
        FROM unnest(
            CAST(:m_id AS BIGINT[]), CAST(:m_channel AS BIGINT[]), CAST(:m_user AS BIGINT[]),
            CAST(:m_type AS TEXT[]), CAST(:m_contents AS TEXT[]), CAST(:m_meta AS TEXT[]),
            CAST(:m_reply_to AS BIGINT[]), CAST(:m_client_msg_id AS TEXT[]), CAST(:m_created AS BIGINT[]),
            CAST(:m_updated AS BIGINT[]), CAST(:m_words AS TEXT[])
        ) AS m(id, channel_id, user_id, type, contents, meta, reply_to, client_msg_id, created_at, updated_at, words)
    ), attached AS (
        INSERT INTO message_files (message_id, file_id, position)
        SELECT * FROM unnest(CAST(:f_message AS BIGINT[]), CAST(:f_file AS BIGINT[]), CAST(:f_position AS INT[]))
    ), named AS (
        INSERT INTO mentions (message_id, user_id, channel_id)
        SELECT * FROM unnest(CAST(:n_message AS BIGINT[]), CAST(:n_user AS BIGINT[]), CAST(:n_channel AS BIGINT[]))
    ), logged AS (
        INSERT INTO channel_events (channel_id, seq, id, type, event, actor_id, payload, created_at, message_id)
        SELECT e.channel_id, b.base + e.k, e.id, e.type, e.event, e.actor_id, e.payload, e.created_at, e.message_id
        FROM unnest(
            CAST(:e_channel AS BIGINT[]), CAST(:e_k AS BIGINT[]), CAST(:e_id AS BIGINT[]), CAST(:e_type AS TEXT[]),
            CAST(:e_event AS TEXT[]), CAST(:e_actor AS BIGINT[]), CAST(:e_payload AS TEXT[]),
            CAST(:e_created AS BIGINT[]), CAST(:e_message AS BIGINT[])
        ) AS e(channel_id, k, id, type, event, actor_id, payload, created_at, message_id)
        JOIN bumped AS b ON b.id = e.channel_id
    ), standings AS (
        SELECT p.channel_id, p.user_id, __STANDING__ AS standing
        FROM unnest(CAST(:x_channel AS BIGINT[]), CAST(:x_user AS BIGINT[])) AS p(channel_id, user_id)
    )
    SELECT id, base, NULL AS user_id, NULL AS standing FROM bumped
    UNION ALL
    SELECT channel_id, NULL, user_id, standing FROM standings
    """.replace("__STANDING__", STANDING_AS_JSON_POSTGRESQL)
)


_WRITE_POSTGRESQL_SQL, _WRITE_POSTGRESQL_NAMES = for_asyncpg(_WRITE_POSTGRESQL)


def _per_channel(batch: list[Message]) -> tuple[dict[int, int], dict[int, int], list[int]]:
    """Per channel of the batch, its message count and newest time (for the channel row), and each message's
    rank within its channel (1, 2, …: its event takes the channel's seq before the batch plus that rank)."""
    counts: dict[int, int] = {}
    newest: dict[int, int] = {}
    ranks: list[int] = []
    for message in batch:
        counts[message.channel_id] = rank = counts.get(message.channel_id, 0) + 1
        newest[message.channel_id] = max(message.created_at, newest.get(message.channel_id, message.created_at))
        ranks.append(rank)
    return counts, newest, ranks


def _number(created: list[Event], batch: list[Message], ranks: list[int], bases: dict[int, int]) -> None:
    """Each event's seq: its channel's seq before the batch plus its message's rank there."""
    for event, message, rank in zip(created, batch, ranks):
        assert event.channel_id == message.channel_id and event.id is not None
        event.seq = bases[message.channel_id] + rank


async def _write_postgresql(
    conn: AsyncConnection, batch: list[Message], created: list[Event], expected: Sequence[tuple[int, int, Fingerprint]]
) -> None:
    """The batch's statement also reads, in the same snapshot, the standings its posts were allowed by
    (``expected``, read before this transaction: ``access.access_to_post``); if one changed,
    ``StandingChanged`` is raised before anything is committed, and the caller's transaction rolls back."""
    counts, newest, ranks = _per_channel(batch)
    params: dict[str, Any] = {
        "channel_ids": list(counts),
        "counts": list(counts.values()),
        "newest": [newest[channel_id] for channel_id in counts],
        "m_id": [m.id for m in batch],
        "m_channel": [m.channel_id for m in batch],
        "m_user": [m.user_id for m in batch],
        "m_type": [m.type for m in batch],
        "m_contents": [m.contents for m in batch],
        "m_meta": [orjson.dumps(m.meta).decode() for m in batch],
        "m_reply_to": [m.reply_to for m in batch],
        "m_client_msg_id": [m.client_msg_id for m in batch],
        "m_created": [m.created_at for m in batch],
        "m_updated": [m.updated_at for m in batch],
        "m_words": [search.document(m.contents) for m in batch],
        "f_message": [m.id for m in batch for _ in m.file_ids],
        "f_file": [file_id for m in batch for file_id in m.file_ids],
        "f_position": [position for m in batch for position in range(len(m.file_ids))],
        "n_message": [m.id for m in batch for _ in m.mentions],
        "n_user": [user_id for m in batch for user_id in m.mentions],
        "n_channel": [m.channel_id for m in batch for _ in m.mentions],
        "e_channel": [e.channel_id for e in created],
        "e_k": ranks,
        "e_id": [e.id for e in created],
        "e_type": [e.type for e in created],
        "e_event": [e.event for e in created],
        "e_actor": [e.actor_id for e in created],
        "e_payload": [orjson.dumps(e.data).decode() for e in created],
        "e_created": [e.created_at for e in created],
        "e_message": [event_log.message_id_of(e) for e in created],
        "x_channel": [channel_id for channel_id, _, _ in expected],
        "x_user": [user_id for _, user_id, _ in expected],
    }
    args = [params[name] for name in _WRITE_POSTGRESQL_NAMES]
    answer = await on_asyncpg(conn, lambda driver: driver.fetch(_WRITE_POSTGRESQL_SQL, *args), "a batch of new messages")
    rows: Any = answer
    if isinstance(answer, NotInTransaction):  # a batch's channel locks open it first; this is the fallback
        rows = [row._mapping for row in await conn.execute(_WRITE_POSTGRESQL, params)]
    bases: dict[int, int] = {}
    found: dict[tuple[int, int], Any] = {}
    for row in rows:
        if row["user_id"] is None:
            bases[int(row["id"])] = int(row["base"])
        else:
            standing = row["standing"]  # decoded by SQLAlchemy's JSON codec on its connections, else text
            if isinstance(standing, (str, bytes)):
                standing = orjson.loads(standing)
            found[(int(row["id"]), int(row["user_id"]))] = standing
    check_standings(expected, found)
    missing = set(counts) - set(bases)
    if missing:  # the messages' foreign key fails the statement first; this is the log's own guard
        raise LookupError(f"no such channel: {sorted(missing)}")
    _number(created, batch, ranks, bases)
