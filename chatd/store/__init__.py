"""Storage: every line of SQL chatd runs.

The store returns and takes the domain's records (``chatd/domain``) and imports nothing else of chatd but
its settings: no rule of the core, so a query never decides who may see what by itself. Where SQL must
apply a rule (the channels a user may read), the clause states the core's rule and ``tests/test_read_rule.py``
holds the two equal.

- ``tables.py``      the schema (one source of truth); ``search_ddl.py`` the dialect-specific full-text DDL.
- ``db.py``          engine, SQLite pragmas, read/write transactions (one writer at a time on SQLite).
- ``sqlite_driver.py`` SQLAlchemy's aiosqlite adapter with each statement in one call on SQLite's thread.
- ``direct.py``      the send path's statements straight on the driver, in the caller's transaction.
- ``migrations.py``  the recorded schema version and the steps from each version to the next.
- ``schema.py``      renders the schema as SQL text (``schema.sql``).
- ``events.py``      the per-channel event log: seq allocation and replay.
- ``search.py``      full-text search on either engine.
- ``blobs.py``       file bytes on local disk.
- one module per aggregate (``users.py``, ``credentials.py``, ``orgs.py``, ``teams.py``, ``channels.py``,
  ``channel_members.py``, ``messages.py``, ``reactions.py``, ``read_state.py`` …): plain async functions
  taking a connection and returning domain records.

The statements a frequent read runs (a websocket connect, a history page) are built once, at module level
with bind parameters (``bindparam``, ``expanding=True`` for id lists), not on every call: SQLAlchemy spent
more on building a statement and its cache key than on running it (docs/performance.md, "Reads: built once,
one hop each").
"""
