"""SQLite's word index, written in batches: the backlog of words it does not hold yet.

An FTS5 index pays for every transaction that writes to it: it loads its structure, and at commit writes a
new segment, its structure and four more pages to the log. For a group-commit batch of sixteen posts that
cost as much as their words did, and a lone post paid it alone: a sixth of its instructions
(docs/performance.md, "The search index in batches"). So a transaction that writes messages indexes none
of them: it notes their words here, one row per transaction (``NOTE``), and ``index_some`` later takes a
few hundred at once, in a write transaction of its own (``core/indexing.py`` runs it shortly after the
write and before every search, so a search still finds every message acknowledged before it began).

A row holds (message id, words) pairs and says whether they are ``changed``: an edit's or a removal's,
whose old words are taken out of the index first; a new message's words are not in it, and the insert
alone is the cheaper one. Rows are taken oldest first, so a message's last row decides what the index
holds for it: the words of its last text, or none after its removal (whose pair has no words). A removal
also takes the message out of the index at once (``search.unindex``); what the backlog still holds of it
goes when the indexer comes by, as FTS5 keeps a removed message's words in its older segments until it
merges them.

PostgreSQL keeps its ``tsvector`` in the message row, written by the same statement: its GIN index defers
its own work (the pending list), and the words cost chatd nothing there.
"""

from __future__ import annotations

import sqlite3
from typing import Sequence

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from . import message_fts
from .direct import as_sqlalchemy_error, on_sqlite_thread

DDL = "CREATE TABLE search_backlog (id INTEGER PRIMARY KEY, entries TEXT NOT NULL, changed INTEGER NOT NULL)"

# ``entries``: a JSON array of [message id, words or null]. Run by the ``sqlite3`` module on SQLite's thread
# (``new_messages``), and as the driver's own statement by ``note``.
NOTE = "INSERT INTO search_backlog (entries, changed) VALUES (?, ?)"
_PENDING = text("SELECT EXISTS (SELECT 1 FROM search_backlog)")

_HEAD = "SELECT id, entries, changed FROM search_backlog ORDER BY id LIMIT ?"
HEAD_ROWS = 512
_DONE = "DELETE FROM search_backlog WHERE id <= ?"

Entries = Sequence[tuple[int, "str | None"]]


def note_row(entries: Entries, *, changed: bool) -> tuple[str, int]:
    """``NOTE``'s parameters for (message id, its words, or ``None``: removed) pairs."""
    return orjson.dumps(entries).decode(), int(changed)


async def note(conn: AsyncConnection, entries: Entries, *, changed: bool) -> None:
    """Note what the index should hold for these messages, in the caller's transaction."""
    await conn.exec_driver_sql(NOTE, note_row(entries, changed=changed))


async def pending(conn: AsyncConnection) -> bool:
    """Whether anything waits to be indexed."""
    return bool((await conn.execute(_PENDING)).scalar_one())


async def index_some(conn: AsyncConnection, messages: int) -> tuple[int, bool]:
    """Bring the index up to date with the oldest rows of the backlog, about ``messages`` messages of them
    (whole rows, at least one), and drop those rows, in the caller's write transaction: how many messages
    that was, and whether rows are left."""

    def run(db: sqlite3.Connection) -> tuple[int, bool]:
        step = _HEAD
        try:
            head = db.execute(step, (HEAD_ROWS,)).fetchall()
            if not head:
                return 0, False
            words: dict[int, str | None] = {}  # each message's words after its last row taken
            remove: set[int] = set()
            taken = 0
            for _, entries, changed in head:
                for message_id, text in orjson.loads(entries):
                    words[message_id] = text
                    if changed:
                        remove.add(message_id)
                taken += 1
                if len(words) >= messages:
                    break
            if remove:
                step = message_fts.DELETE
                db.executemany(step, [(message_id,) for message_id in remove])
            step = message_fts.AUTHORS  # a message purged since its words were noted has none: left out
            written = [message_id for message_id, text in words.items() if text]
            authors = dict(db.execute(step, (orjson.dumps(written).decode(),)).fetchall()) if written else {}
            step = message_fts.INSERT
            db.executemany(step, [(message_id, words[message_id], authors[message_id])
                                  for message_id in written if message_id in authors])
            step = _DONE
            db.execute(step, (head[taken - 1][0],)).close()
            return len(words), taken < len(head) or len(head) == HEAD_ROWS
        except sqlite3.Error as exc:
            raise as_sqlalchemy_error(step, exc) from exc

    return await on_sqlite_thread(conn, run, "indexing the search backlog")
