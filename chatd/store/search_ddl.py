"""Full-text search DDL, per dialect: SQLite FTS5 beside ``messages``; PostgreSQL a tsvector column + GIN.

Both hold the words ``words.py`` cuts from each live message (``document``), with no stemming and no stop
words (``unicode61`` and the ``simple`` configuration), so the two backends give the same results. The
PostgreSQL column is filled by the app, not generated from ``contents``: PostgreSQL's own parser would keep
``example.com`` or ``3.14`` as one word.
PostgreSQL's column is written with the message; SQLite's table in batches, from a backlog of the words
it lacks (``search_backlog.py``).
"""

from __future__ import annotations

from . import message_fts, search_backlog

SQLITE = [
    message_fts.DDL,
    search_backlog.DDL,
]

POSTGRESQL = [
    "ALTER TABLE messages ADD COLUMN search_vector tsvector",
    "CREATE INDEX ix_messages_search ON messages USING gin (search_vector)",
]


def statements(dialect: str) -> list[str]:
    return SQLITE if dialect == "sqlite" else POSTGRESQL
