"""SQLite's FTS5 table of message words: its name, its DDL and the statements that write it, in one place for
the three modules that use them (``search_ddl`` creates it, ``search_backlog`` fills it in batches,
``search`` queries it and takes removed messages out). It imports none of them, so each can import it."""

from __future__ import annotations

from sqlalchemy import column, table

NAME = "message_fts"

DDL = f"CREATE VIRTUAL TABLE {NAME} USING fts5(contents, tokenize = 'unicode61 remove_diacritics 2')"

# Raw ``sqlite3`` statements, run on SQLite's thread by the indexer.
INSERT = f"INSERT INTO {NAME} (rowid, contents) VALUES (?, ?)"
DELETE = f"DELETE FROM {NAME} WHERE rowid = ?"

# For SQLAlchemy statements (the search's queries, a restore's inserts).
TABLE = table(NAME, column("rowid"), column("contents"))
