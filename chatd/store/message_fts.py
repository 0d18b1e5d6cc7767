"""SQLite's FTS5 table of message words: its name, its DDL and the statements that write it, in one place for
the modules that use them (``search_ddl`` creates it, ``search_backlog`` fills it in batches, ``search``
queries it and takes removed messages out, ``migrations`` rebuilds it). It imports none of them, so each can
import it.

Two columns: ``contents``, the message's words (``words.document``), and ``author``, its author's id as one
token. A search by an author of many messages asks FTS5 for the words *and* the author, so the two posting
lists are merged inside the index: checking the author on each hit's row instead read some 20,000 rows for a
common word by an author of 50,000 of a million messages (80-96 ms, near the search budget). Words are
always matched in ``contents`` alone (``matching``), so a number searched for never finds an author's id.
"""

from __future__ import annotations

from sqlalchemy import column, table

NAME = "message_fts"


def ddl(name: str) -> str:
    """The table's DDL under ``name`` (the upgrade to schema 12 builds it under another first)."""
    return f"CREATE VIRTUAL TABLE {name} USING fts5(contents, author, tokenize = 'unicode61 remove_diacritics 2')"


DDL = ddl(NAME)

# Raw ``sqlite3`` statements, run on SQLite's thread by the indexer, and by a restore: (id, words, author).
# ``INSERT … SELECT`` reading the author from the message's row cost five times as much per message (SQLite
# runs each through a temporary table): the indexer reads a batch's authors in one statement (``AUTHORS``).
INSERT = f"INSERT INTO {NAME} (rowid, contents, author) VALUES (?, ?, ?)"
AUTHORS = "SELECT id, user_id FROM messages WHERE id IN (SELECT value FROM json_each(?))"
DELETE = f"DELETE FROM {NAME} WHERE rowid = ?"

# For SQLAlchemy statements (the search's queries).
TABLE = table(NAME, column("rowid"), column("contents"), column("author"))


def matching(words: list[str], author: int | None = None) -> str:
    """The ``MATCH`` expression for messages holding every one of ``words`` (chatd's words: letters and
    digits only, nothing FTS5 would read as syntax), and written by ``author`` when one is given."""
    phrases = " ".join(f'"{word}"' for word in words)
    return f"contents : ({phrases})" + ("" if author is None else f' AND author : "{author}"')
