"""Full-text search DDL, per dialect: SQLite FTS5 beside ``messages``; PostgreSQL a generated tsvector + GIN.

Both index exactly the contents of live messages with the same tokenisation (no stemming, no stop words:
``unicode61`` and the ``simple`` configuration), so the two backends give the same results.
"""

from __future__ import annotations

SQLITE = [
    "CREATE VIRTUAL TABLE message_fts USING fts5(contents, tokenize = 'unicode61 remove_diacritics 2')",
]

POSTGRESQL = [
    "ALTER TABLE messages ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', contents)) STORED",
    "CREATE INDEX ix_messages_search ON messages USING gin (search_vector)",
]


def statements(dialect: str) -> list[str]:
    return SQLITE if dialect == "sqlite" else POSTGRESQL
