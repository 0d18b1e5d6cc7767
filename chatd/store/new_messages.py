"""Writing new messages: the rows, their files, mentions and search entries, and their ``message CREATED``
events with the channels' next seqs, for a whole group-commit batch at once (``Tx.flush``).

Each event belongs to the message at the same position; a channel's events take its next seqs in batch
order, and the channel's ``last_message_at`` becomes its newest message's time.

SQLite: one call on the connection's own thread for the whole batch (one statement per table there, with the
standard ``sqlite3`` module), their words noted for the search index (``search_backlog.py``), which takes
them in larger batches.
PostgreSQL: **one statement** for the whole batch, the tables written by data-modifying ``WITH`` clauses from
one JSON document of rows per table (``json_to_recordset``) and the search vector computed in the insert rather
than by an ``UPDATE`` of each new row: one round trip and one row version per message, and the text never
changes with the batch's size, so it stays a prepared statement. JSON rather than one array per column: asyncpg
checks each array and each of its elements against ``collections.abc`` classes in Python, which cost a lone
post more than the rest of its statement (docs/performance.md, "Sends: the batch statement's parameters").

The authors' read markers move to their posts (``core/read_marks.py``). On PostgreSQL a member row that
another transaction holds is skipped rather than waited for: a leave or a role change locks it before the
channel's row, which a batch holds first, so waiting could deadlock; the marker then stays where that
transaction leaves it.
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
from . import search_backlog
from .channels import STANDING_AS_JSON_POSTGRESQL, Fingerprint, check_standings, check_standings_sqlite
from .direct import NotInTransaction, as_sqlalchemy_error, for_asyncpg, on_asyncpg, on_sqlite_thread
from .words import document


async def write(
    conn: AsyncConnection, batch: list[Message], created: list[Event], *, last: bool = False,
    expected: Sequence[tuple[int, int, Fingerprint]] = (), read: Sequence[tuple[int, int, int]] = (), epoch: int = 0,
) -> None:
    """Store ``batch`` and ``created`` (one event per message, same order) and set each event's ``seq``.
    ``read``: (channel, user, message) read markers moved forward to the message (never back; a non-member
    has none): a post's author's (``core/read_marks.py``).
    ``last``: nothing follows in this transaction, so SQLite commits it in the same hop (``db.write``).
    ``expected``: (channel, user, fingerprint) standings the posts were allowed by, read before this
    transaction; each is read again as the batch is written (SQLite: first, ``channels.check_standings_sqlite``;
    PostgreSQL: by the batch's statement) and ``StandingChanged`` raised, nothing committed, if one changed;
    ``epoch``: ``Database.standings_epoch`` now (SQLite: a standing seen since is not read again; the default,
    0, is no epoch a standing was seen at, the kept connection's first being 1)."""
    if not batch:
        return
    assert len(batch) == len(created)
    if conn.dialect.name == "sqlite":
        await _write_sqlite(conn, batch, created, commit=last, expected=expected, read=read, epoch=epoch)
        return
    await _write_postgresql(conn, batch, created, expected, read)


_SQLITE_MESSAGES = (
    "INSERT INTO messages (id, channel_id, user_id, type, contents, meta, reply_to, client_msg_id, created_at,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_FILES = "INSERT INTO message_files (message_id, file_id, position) VALUES (?, ?, ?)"
_SQLITE_MENTIONS = "INSERT INTO mentions (message_id, user_id, channel_id) VALUES (?, ?, ?)"
_SQLITE_READ = (
    "UPDATE channel_members SET last_read_message_id = ? WHERE channel_id = ? AND user_id = ?"
    " AND last_read_message_id < ?"
)
_SQLITE_BUMP = "UPDATE channels SET last_seq = last_seq + ?, last_message_at = ? WHERE id = ? RETURNING last_seq"
_SQLITE_EVENTS = (
    "INSERT INTO channel_events (channel_id, seq, id, type, event, actor_id, payload, created_at, message_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def _write_sqlite(
    conn: AsyncConnection, batch: list[Message], created: list[Event], *, commit: bool,
    expected: Sequence[tuple[int, int, Fingerprint]], read: Sequence[tuple[int, int, int]], epoch: int,
) -> None:
    """The messages, their files and mentions, the authors' read markers, the channels' seqs, the events and the
    words to index, in one call on the thread that owns the SQLite connection (aiosqlite's): through SQLAlchemy
    each statement cost several hops between the event loop and that thread (cursor, execute, fetch, close) and
    its own Python on both sides; here the whole batch is one hop, with the standard ``sqlite3`` module's
    ``executemany`` (docs/performance.md, "Sends: the request path"). Same transaction as the caller's: the
    connection is the one it holds."""
    messages = [
        (m.id, m.channel_id, m.user_id, m.type, m.contents, orjson.dumps(m.meta).decode(), m.reply_to,
         m.client_msg_id, m.created_at, m.updated_at)
        for m in batch
    ]
    files = [(m.id, file_id, position) for m in batch for position, file_id in enumerate(m.file_ids)]
    named = [(m.id, user_id, m.channel_id) for m in batch for user_id in m.mentions]
    counts, newest, ranks = _per_channel(batch)
    payloads = [orjson.dumps(e.data).decode() for e in created]
    words = [(m.id, text) for m in batch if (text := document(m.contents))]
    noted = search_backlog.note_row(words, changed=False) if words else None
    markers = [(message_id, channel_id, user_id, message_id) for channel_id, user_id, message_id in read]

    def run(db: sqlite3.Connection) -> dict[int, int]:
        step = _SQLITE_MESSAGES
        try:
            if expected:
                step = "the standings the posts were allowed by"
                check_standings_sqlite(db, expected, epoch)
                step = _SQLITE_MESSAGES
            db.executemany(step, messages)
            if files:
                step = _SQLITE_FILES
                db.executemany(step, files)
            if named:
                step = _SQLITE_MENTIONS
                db.executemany(step, named)
            if markers:
                step = _SQLITE_READ
                db.executemany(step, markers)
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
            if noted is not None:
                step = search_backlog.NOTE
                db.execute(step, noted).close()
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
        FROM json_to_recordset(CAST(CAST(:channels AS TEXT) AS json)) AS n(id BIGINT, count BIGINT, newest BIGINT)
        WHERE c.id = n.id
        RETURNING c.id, c.last_seq - n.count AS base
    ), new_messages AS (
        INSERT INTO messages
            (id, channel_id, user_id, type, contents, meta, reply_to, client_msg_id, created_at, updated_at,
             search_vector)
        SELECT m.id, m.channel_id, m.user_id, m.type, m.contents, m.meta, m.reply_to, m.client_msg_id,
               m.created_at, m.updated_at, to_tsvector('simple', m.words)
        FROM json_to_recordset(CAST(CAST(:messages AS TEXT) AS json)) AS m(
            id BIGINT, channel_id BIGINT, user_id BIGINT, type TEXT, contents TEXT, meta TEXT, reply_to BIGINT,
            client_msg_id TEXT, created_at BIGINT, updated_at BIGINT, words TEXT)
    ), attached AS (
        INSERT INTO message_files (message_id, file_id, position)
        SELECT f.message_id, f.file_id, f.position
        FROM json_to_recordset(CAST(CAST(:files AS TEXT) AS json)) AS f(message_id BIGINT, file_id BIGINT, position INT)
    ), named AS (
        INSERT INTO mentions (message_id, user_id, channel_id)
        SELECT n.message_id, n.user_id, n.channel_id
        FROM json_to_recordset(CAST(CAST(:mentions AS TEXT) AS json)) AS n(message_id BIGINT, user_id BIGINT, channel_id BIGINT)
    ), logged AS (
        INSERT INTO channel_events (channel_id, seq, id, type, event, actor_id, payload, created_at, message_id)
        SELECT e.channel_id, b.base + e.k, e.id, e.type, e.event, e.actor_id, e.payload, e.created_at, e.message_id
        FROM json_to_recordset(CAST(CAST(:events AS TEXT) AS json)) AS e(
            channel_id BIGINT, k BIGINT, id BIGINT, type TEXT, event TEXT, actor_id BIGINT, payload TEXT,
            created_at BIGINT, message_id BIGINT)
        JOIN bumped AS b ON b.id = e.channel_id
    ), marked AS (
        UPDATE channel_members AS cm SET last_read_message_id = r.message_id
        FROM (
            SELECT m.channel_id, m.user_id, w.message_id
            FROM json_to_recordset(CAST(CAST(:read AS TEXT) AS json)) AS w(channel_id BIGINT, user_id BIGINT, message_id BIGINT)
            JOIN channel_members AS m ON m.channel_id = w.channel_id AND m.user_id = w.user_id
            WHERE m.last_read_message_id < w.message_id
            FOR NO KEY UPDATE OF m SKIP LOCKED
        ) AS r
        WHERE cm.channel_id = r.channel_id AND cm.user_id = r.user_id
    ), standings AS (
        SELECT p.channel_id, p.user_id, CAST(__STANDING__ AS TEXT) AS standing
        FROM json_to_recordset(CAST(CAST(:standings AS TEXT) AS json)) AS p(channel_id BIGINT, user_id BIGINT)
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
        channel_id, created_at = message.channel_id, message.created_at
        counts[channel_id] = rank = counts.get(channel_id, 0) + 1
        if created_at > newest.get(channel_id, created_at - 1):  # not ``max``, dearer than its work (per post)
            newest[channel_id] = created_at
        ranks.append(rank)
    return counts, newest, ranks


def _number(created: list[Event], batch: list[Message], ranks: list[int], bases: dict[int, int]) -> None:
    """Each event's seq: its channel's seq before the batch plus its message's rank there."""
    for event, message, rank in zip(created, batch, ranks):
        assert event.channel_id == message.channel_id and event.id is not None
        event.seq = bases[message.channel_id] + rank


async def _write_postgresql(
    conn: AsyncConnection, batch: list[Message], created: list[Event], expected: Sequence[tuple[int, int, Fingerprint]],
    read: Sequence[tuple[int, int, int]],
) -> None:
    """The batch's statement also reads, in the same snapshot, the standings its posts were allowed by
    (``expected``, read before this transaction: ``access.access_to_post``); if one changed,
    ``StandingChanged`` is raised before anything is committed, and the caller's transaction rolls back."""
    counts, newest, ranks = _per_channel(batch)
    rows: dict[str, list[dict[str, Any]]] = {
        "channels": [{"id": channel_id, "count": count, "newest": newest[channel_id]} for channel_id, count in counts.items()],
        "messages": [
            {"id": m.id, "channel_id": m.channel_id, "user_id": m.user_id, "type": m.type, "contents": m.contents,
             "meta": orjson.dumps(m.meta).decode(), "reply_to": m.reply_to, "client_msg_id": m.client_msg_id,
             "created_at": m.created_at, "updated_at": m.updated_at, "words": document(m.contents)}
            for m in batch
        ],
        "files": [
            {"message_id": m.id, "file_id": file_id, "position": position}
            for m in batch for position, file_id in enumerate(m.file_ids)
        ],
        "mentions": [{"message_id": m.id, "user_id": user_id, "channel_id": m.channel_id} for m in batch for user_id in m.mentions],
        "events": [
            {"channel_id": e.channel_id, "k": rank, "id": e.id, "type": e.type, "event": e.event, "actor_id": e.actor_id,
             "payload": orjson.dumps(e.data).decode(), "created_at": e.created_at, "message_id": event_log.message_id_of(e)}
            for e, rank in zip(created, ranks)
        ],
        "standings": [{"channel_id": channel_id, "user_id": user_id} for channel_id, user_id, _ in expected],
        "read": [{"channel_id": channel_id, "user_id": user_id, "message_id": message_id}
                 for channel_id, user_id, message_id in read],
    }
    params = {name: orjson.dumps(value).decode() for name, value in rows.items()}
    args = [params[name] for name in _WRITE_POSTGRESQL_NAMES]
    answer = await on_asyncpg(conn, lambda driver: driver.fetch(_WRITE_POSTGRESQL_SQL, *args), "a batch of new messages")
    written: Any = answer
    if isinstance(answer, NotInTransaction):  # a batch's channel locks open it first; this is the fallback
        written = [row._mapping for row in await conn.execute(_WRITE_POSTGRESQL, params)]
    bases: dict[int, int] = {}
    found: dict[tuple[int, int], Any] = {}
    for row in written:
        if row["user_id"] is None:
            bases[int(row["id"])] = int(row["base"])
        else:
            standing = row["standing"]  # the standing's columns as a JSON object, in the statement's order
            values = None if standing is None else tuple(orjson.loads(standing).values())
            found[(int(row["id"]), int(row["user_id"]))] = values
    check_standings(expected, found)
    missing = set(counts) - set(bases)
    if missing:  # the messages' foreign key fails the statement first; this is the log's own guard
        raise LookupError(f"no such channel: {sorted(missing)}")
    _number(created, batch, ranks, bases)
