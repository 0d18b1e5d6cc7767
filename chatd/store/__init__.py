"""Storage: every line of SQL chatd runs.

- ``tables.py``      the schema (one source of truth); ``search_ddl.py`` the dialect-specific full-text DDL.
- ``db.py``          engine, SQLite pragmas, read/write transactions (one writer at a time on SQLite).
- ``migrations.py``  the recorded schema version and the steps from each version to the next.
- ``schema.py``      renders the schema as SQL text (``schema.sql``).
- ``events.py``      the per-channel event log: seq allocation and replay.
- one module per aggregate (``users.py``, ``credentials.py``, ``orgs.py``, ``teams.py``, ``channels.py``,
  ``messages.py`` …): plain async functions taking a connection, returning core records.
"""
